"""Benchmarks for the storefront platform: `python -m bench` (or `make bench`).

Every figure is a ratio against a baseline measured in the same run, or a latency with a
goal from the issue; see `bench/README.md`. This package is kept free of app imports at
module level so that `python -m bench.loadgen` (the HTTP client subprocess) starts fast.
"""
