"""Test kit shared by the tests and the benchmark, kept out of the shipped packages: the
only code besides `tests/` allowed to import `sandbox/` (the outside world)."""
