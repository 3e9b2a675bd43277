"""The schedlab version (one place; results record it)."""

__version__ = "0.2.0"
