"""Array backends: NumPy by default, CuPy on a GPU.

This is the one module that knows which array library does the work. Every other
module asks it for ``xp``, the array namespace of its inputs, and writes array-API
code against that namespace, so the same code runs on NumPy, on CuPy and on any
namespace that follows the `array API standard <https://data-apis.org/array-api/>`_
(the tests run the engine and the models on ``array_api_strict``).

The backend used for arrays that damlab creates itself (sampled patterns, initial
states) is chosen, in order, by :func:`set_backend`, by the environment variable
``DAMLAB_BACKEND`` (``numpy`` or ``cupy``), or defaults to NumPy. Inputs that are
already device arrays carry their own namespace and win over the default.

``import damlab`` never imports CuPy: it is imported only when asked for.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_array, numpy as _np_compat

__all__ = [
    "set_backend",
    "get_backend",
    "get_namespace",
    "is_numpy",
    "to_host",
    "asarray",
    "device",
    "default_rng",
    "threads_for",
    "thread_map",
]

_BACKENDS = ("numpy", "cupy")
_backend: str | None = None  # None: read DAMLAB_BACKEND on first use


def _check_name(name) -> str:
    if not isinstance(name, str) or name.lower() not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {name!r}")
    return name.lower()


def _cupy():
    """Import CuPy and check that it can make arrays here (a GPU is present)."""
    try:
        import cupy
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "backend 'cupy' needs CuPy: pip install 'damlab[gpu]' (or the cupy-cudaXXx "
            "wheel for your CUDA version)"
        ) from err
    try:
        usable = cupy.cuda.is_available()
    except Exception:  # pragma: no cover - broken driver installs raise here
        usable = False
    if not usable:
        raise RuntimeError(
            "backend 'cupy' was requested but no usable CUDA GPU was found "
            "(cupy.cuda.is_available() is False); use set_backend('numpy')"
        )
    return cupy


def set_backend(name: str) -> None:
    """Choose the array library for arrays that damlab creates.

    Parameters
    ----------
    name : {"numpy", "cupy"}
        ``"cupy"`` requires CuPy and a usable CUDA device; otherwise a
        ``RuntimeError`` says why.
    """
    global _backend
    name = _check_name(name)
    if name == "cupy":
        _cupy()
    _backend = name


def get_backend() -> str:
    """The name of the current default backend (``"numpy"`` or ``"cupy"``)."""
    global _backend
    if _backend is None:
        name = _check_name(os.environ.get("DAMLAB_BACKEND", "numpy"))
        if name == "cupy":
            _cupy()
        _backend = name
    return _backend


def _default_namespace():
    if get_backend() == "cupy":
        from array_api_compat import cupy as cupy_compat

        return cupy_compat
    return _np_compat


def get_namespace(*arrays):
    """The array namespace ``xp`` in which to compute with ``arrays``.

    Arrays of a foreign library (CuPy, ``array_api_strict``, ...) decide the
    namespace; NumPy arrays, Python scalars and ``None`` follow the default backend.
    The returned namespace is array-API compatible (``array_api_compat`` wraps NumPy
    and CuPy).
    """
    foreign = [a for a in arrays if hasattr(a, "shape") and not is_numpy_array(a)]
    if foreign:
        return array_namespace(*foreign)
    return _default_namespace()


def is_numpy(xp) -> bool:
    """Whether ``xp`` is NumPy (where in-place and threaded fast paths apply)."""
    return xp is np or xp is _np_compat


def asarray(a, xp, dtype=None, device=None):
    """``a`` as an array of namespace ``xp``, copied to ``device`` if needed."""
    if is_numpy(xp):
        return np.asarray(to_host(a), dtype=dtype)
    return xp.asarray(a, dtype=dtype, device=device)


def to_host(a) -> np.ndarray:
    """A NumPy copy (or view) of ``a``, for plotting and printing."""
    if type(a) is np.ndarray:  # the common case, first: no copy, no conversion
        return a
    if is_numpy_array(a) or isinstance(a, (int, float, np.generic, list, tuple)):
        return np.asarray(a)
    if hasattr(a, "get"):  # CuPy
        return a.get()
    return np.asarray(a)  # array_api_strict and other buffer-protocol arrays


def default_rng(seed=None) -> np.random.Generator:
    """A NumPy ``Generator`` from an int, a ``SeedSequence`` or a ``Generator``.

    Random numbers are always drawn on the host with NumPy so that the same seed
    gives the same patterns on every backend (up to dtype rounding).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        raise TypeError(f"seed must be an int, a SeedSequence or a Generator, got {type(seed).__name__}")
    return np.random.default_rng(seed)


# NumPy runs elementwise work on one core; long passes are split into threads
# (NumPy and BLAS release the GIL), each with single-threaded BLAS.
THREADS = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
THREAD_WORK = 1 << 24  # multiply-adds below which a pass is too short to split
_pool = _blas = None


def threads_for(xp, work: int, tasks: int) -> int:
    """How many threads should share a pass of ``work`` multiply-adds in ``tasks`` pieces."""
    if not is_numpy(xp) or work < THREAD_WORK:
        return 1  # device libraries parallelise themselves
    return max(1, min(THREADS, tasks))


def thread_map(fn, T: int) -> list:
    """``[fn(t, T) for t in range(T)]``, run in T threads with BLAS limited to one thread."""
    global _pool, _blas
    if T == 1:
        return [fn(0, 1)]
    if _pool is None:  # made once: finding the BLAS libraries is slow
        from threadpoolctl import ThreadpoolController

        _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="damlab")
        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        return list(_pool.map(fn, range(T), [T] * T))
