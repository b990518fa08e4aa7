"""Benchmarks of homeflex against a real broker on loopback: `python -m bench <name> --help`."""
