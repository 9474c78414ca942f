"""Reads of the selling app: querysets with their joins and a fixed order, and figures summed
by the database."""
