"""homeflex: a community of households selling electricity flexibility to their DSO."""

__version__ = "0.1.0"
