"""Community scenarios in simulated time: how each customer category fares, side by side.

``homeflex simulate`` (see ``scenarios/command.py`` for usage): spec (mix, event policy, settlement
variants) -> household (one household's stage 1, managed and unmanaged runs) -> settle (live settlement
code, in memory) -> runner (process pool, progress, interrupt) -> report / compare / html.
"""
