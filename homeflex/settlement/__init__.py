"""Settlement: what a flex event delivered and what it pays, from metered energy against a baseline.

baselines/ (the methods, their registry, data sufficiency and the day-of adjustment), delivery.py (one
household in one event), payments.py, programme.py (a programme's rules), limits.py (the numbers an event
must have to be paid), settler.py (events settled from stored readings into versions and ledger entries),
vectorised.py (many households at once) and portfolio.py (an aggregator's statement).
"""
