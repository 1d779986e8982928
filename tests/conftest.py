"""Shared fixtures: a simulated accelerator and the skipping of GPU tests without a GPU."""

import numpy as np
import pytest


def _gpu_available():
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def device():
    """Move NumPy arrays to a simulated device, and back.

    ``array_api_strict`` arrays on a non-CPU device refuse every NumPy conversion,
    so any hidden NumPy call on them raises: on the CPU this is the proof that code
    would run on a GPU array library.
    """
    xps = pytest.importorskip("array_api_strict")
    dev, cpu = xps.Device("device1"), xps.Device("CPU_DEVICE")

    class Device:
        xp = xps

        @staticmethod
        def put(a):
            return xps.asarray(np.asarray(a), device=dev)

        @staticmethod
        def get(a):
            assert type(a).__module__.startswith("array_api_strict") and a.device == dev, "result left the device"
            return np.asarray(a.to_device(cpu))

    return Device
