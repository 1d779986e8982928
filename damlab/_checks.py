"""Input checks shared by the package: each error names the parameter and the allowed range."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

# A dense request larger than this raises and points to the streaming path.
# Half the machine's memory: leaves room for the work that uses the array.
try:
    MAX_DENSE_BYTES = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
    MAX_DENSE_BYTES = 8 * 2**30


def positive_int(name: str, value) -> int:
    """``value`` as an int >= 1, or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1), got {value}")
    return int(value)


def positive_float(name: str, value) -> float:
    """``value`` as a finite Python float > 0.

    Returning a Python float matters: a NumPy float64 scalar would promote float32
    arrays to float64 under NumPy 2's promotion rules (NEP 50).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def dense_fits(name: str, shape, itemsize: int, hint: str) -> None:
    """Raise if an array of ``shape`` would not fit in memory; ``hint`` says what to use instead."""
    nbytes = itemsize * math.prod(int(s) for s in shape)
    if nbytes > MAX_DENSE_BYTES:
        raise ValueError(
            f"{name} of shape {tuple(shape)} would need {nbytes / 2**30:.1f} GiB, more than "
            f"{MAX_DENSE_BYTES / 2**30:.1f} GiB (half this machine's memory); {hint}"
        )


def all_finite(name: str, a, xp) -> None:
    """Raise a ``ValueError`` naming ``name`` if ``a`` holds NaN or inf."""
    # NumPy arrays directly: the array-API wrapper costs as much as the test on small arrays
    finite = np.isfinite(a).all() if isinstance(a, np.ndarray) else xp.all(xp.isfinite(a))
    if not bool(finite):
        raise ValueError(f"{name} contains NaN or inf")


def floating_dtype(name: str, dtype):
    """``dtype`` as ``np.float32`` or ``np.float64``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from err
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dt}")
    return dt.type


def real_array(name: str, value, *, low: float = 0.0, strict: bool = False) -> np.ndarray:
    """``value`` (a number or an array of them) as a float64 array, all finite and
    ``>= low`` (``> low`` if ``strict``), or a ``TypeError``/``ValueError`` naming ``name``."""
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number or an array of them, got {value!r}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a) | ((a <= low) if strict else (a < low))
    if bad.any():
        raise ValueError(f"{name} must be finite and {'>' if strict else '>='} {low:g}, "
                         f"got {a[bad].flat[0]}")
    return a


def overlap_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array of overlaps in [-1, 1], or an error naming ``name``."""
    a = real_array(name, value, low=-1.0)
    if np.any(a > 1):
        raise ValueError(f"{name} must be overlaps in [-1, 1], got {a[a > 1].flat[0]}")
    return a
