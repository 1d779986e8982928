"""Theory: pure functions of the model parameters (no sampling). See the book chapters."""

from . import classical

__all__ = ["classical"]
