"""The ledger: append-only double-entry accounts (DSO -> community -> household), reconciled against the
settlements they came from, and monthly statements. Settlement writes the entries (homeflex.settlement)."""
