"""Validation: schedlab against published numbers (ATC'23) and queueing theory (M/M/c)."""
