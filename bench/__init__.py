"""Benchmarks: run as modules (python -m bench.<name>), kept out of the test suite."""
