"""damlab: dense associative memories, in theory and in simulation.

The package behind the book *Dense associative memories*: pattern ensembles,
a streaming retrieval engine (NumPy or CuPy), the classical, dense and modern
Hopfield models, their theory (``damlab.theory``) and the Monte Carlo estimators
that check it (``damlab.experiments``).
"""

from . import attention, backend, diffusion, engine, ensembles, experiments, models, theory
from .backend import get_backend, set_backend
from .ensembles import Binary, Gaussian, HiddenManifold, Spherical
from .models import DenseMemory, Hopfield, ModernHopfield

__all__ = [
    "backend", "ensembles", "engine", "models", "theory", "experiments", "attention", "diffusion",
    "set_backend", "get_backend",
    "Gaussian", "Spherical", "Binary", "HiddenManifold",
    "Hopfield", "DenseMemory", "ModernHopfield",
]

__version__ = "0.1.0"
