"""Shared domain types and the clock. Imports nothing else from homeflex."""
