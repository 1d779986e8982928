"""damlab: dense associative memories, in theory and in simulation.

The package behind the book *Dense associative memories*: pattern ensembles,
a streaming retrieval engine (NumPy or CuPy), the classical, dense and modern
Hopfield models, and (in later chapters) their theory and Monte Carlo estimators.
"""

from . import backend, ensembles, engine
from .backend import get_backend, set_backend
from .ensembles import Binary, Gaussian, HiddenManifold, Spherical

__all__ = [
    "backend", "ensembles", "engine", "set_backend", "get_backend",
    "Gaussian", "Spherical", "Binary", "HiddenManifold",
]

try:  # the models land with the engine; keep the package importable meanwhile
    from . import models
    from .models import DenseMemory, Hopfield, ModernHopfield

    __all__ += ["models", "Hopfield", "DenseMemory", "ModernHopfield"]
except ImportError:  # pragma: no cover
    pass

__version__ = "0.1.0"
