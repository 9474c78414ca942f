"""Benchmarks (`make bench`): see README.md. Not part of the application."""
