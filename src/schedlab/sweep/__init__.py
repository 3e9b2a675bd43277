"""Sweeps: matrices of fill runs, their results store, and where they run (local or Ray)."""
