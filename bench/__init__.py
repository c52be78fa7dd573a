"""Benchmarks: a realistic data generator and the client performance runs.

``python -m bench.run_all`` (or ``make bench``) builds (or reuses) a 50,000
record store and measures start-up, filtering, search and memory against the
targets; the figures go to ``docs/benchmarks.md``.
"""
