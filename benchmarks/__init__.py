"""The benchmark suite (``python -m benchmarks``): the numba kernel against its reference twin."""
