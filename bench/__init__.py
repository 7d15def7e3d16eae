"""Benchmarks that print figures (never assertions): `python -m bench --users 500`."""
