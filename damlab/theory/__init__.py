"""Theory: pure functions of the model parameters (no sampling). See the book chapters."""

from . import capacity, classical, dense, finite_size, rem

__all__ = ["classical", "dense", "rem", "capacity", "finite_size"]
