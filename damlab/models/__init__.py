"""The three model families of the book.

- :class:`Hopfield`: classical Hopfield network, Hebbian couplings, ±1 spins.
- :class:`DenseMemory`: dense associative memory (Krotov–Hopfield), F(x) = xⁿ or e^{λx}, ±1 spins.
- :class:`ModernHopfield`: continuous states, softmax update (one attention step).

Each takes its patterns as a (P, N) array from any ensemble (``ModernHopfield`` also
as a stream), runs on the backend of its inputs, and has ``energy``, an update
(``step``; ``sweep`` for the binary models), ``run`` to convergence, which returns
a :class:`Run`, and ``overlaps`` with the stored patterns.
"""

from ._common import Run
from .dense import DenseMemory
from .hopfield import Hopfield
from .modern import ModernHopfield

__all__ = ["Hopfield", "DenseMemory", "ModernHopfield", "Run"]
