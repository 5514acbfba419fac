"""Benchmarks for the guidance bot: `python -m bench.run [--quick] [--out PATH]`.

Not part of the installed package and not run by `make test`; `make bench`
installs the `bench` extra (scikit-learn, for the baselines only) and writes
bench/RESULTS.md.
"""
