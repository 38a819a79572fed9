"""Benchmarks: runnable scripts that print figures (not timed tests)."""
