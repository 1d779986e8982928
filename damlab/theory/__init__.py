"""Theory: pure functions of the model parameters (no sampling). See the book chapters."""

from . import capacity, classical, dense, diffusion, dynamics, finite_size, rem

__all__ = ["classical", "dense", "dynamics", "rem", "capacity", "finite_size", "diffusion"]
