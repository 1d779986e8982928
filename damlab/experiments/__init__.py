"""Monte Carlo estimators: the simulations the book sets beside the theory.

Each estimator takes a model (a callable ``model(xi)``) and a pattern ensemble, the
sizes, a grid of parameters (numbers or arrays, broadcast together), a ``seed``,
a number of independent ``trials`` (draws of the patterns) and of ``starts`` per
draw, and returns an :class:`Estimate`: the raw samples with their mean and standard
error, ready to plot as points with error bars. :func:`crossing` turns a curve of
estimates into a finite-N threshold with its error bar.

Nothing here imports :mod:`damlab.theory`: the book and the tests put the two side by side.
"""

from ._common import Estimate
from .all_patterns import all_retrieved, all_retrieved_fraction
from .basins import basin_fraction, state_at_overlap
from .collapse import collapse_fraction
from .dense_dynamics import dense_overlap_trajectory, dense_patterns
from .distances import pattern_distance
from .dynamics import overlap_trajectory
from .one_step import patterns_for, retrieval_fraction
from .retrieval import corrupt, final_overlap
from .spurious import Mixture, mixture_overlap
from .sweep import sweep
from .thresholds import crossing

__all__ = ["Estimate", "final_overlap", "corrupt", "Mixture", "mixture_overlap", "crossing",
           "retrieval_fraction", "patterns_for", "sweep",
           "all_retrieved", "all_retrieved_fraction", "basin_fraction", "state_at_overlap", "overlap_trajectory",
           "pattern_distance", "dense_overlap_trajectory", "dense_patterns", "collapse_fraction"]
