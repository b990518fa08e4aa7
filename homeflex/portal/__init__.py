"""The customer portal and the operator console: journey, accounts, profile, plans, events, payments."""
