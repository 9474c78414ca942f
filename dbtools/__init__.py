"""Helpers for the hand-written PostgreSQL statements of the hot paths.

The statements stay written out (one round trip each, no ORM compilation: they are measured),
but their table and column names, column types and the instances they return come from the
models, so a model change cannot leave a statement behind unnoticed (tests/test_dbtools.py).
"""
