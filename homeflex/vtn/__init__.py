"""The DSO's OpenADR 2.0b VTN (openleadr) with its state in the database, and the operator API."""
