"""``cupy.cuda`` of the stand-in: one CPU 'device' (``CUPY_STANDIN_DEVICES`` sets how many)."""

import os


class CUDARuntimeError(RuntimeError):
    """What CuPy raises when the CUDA runtime finds no usable device."""


def _n_devices():
    return int(os.environ.get("CUPY_STANDIN_DEVICES", "1"))


class _Runtime:
    CUDARuntimeError = CUDARuntimeError

    @staticmethod
    def getDeviceCount():
        n = _n_devices()
        if n < 1:
            raise CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
        return n

    @staticmethod
    def getDeviceProperties(device):
        return {"name": b"CuPy stand-in (CPU)", "totalGlobalMem": 0, "multiProcessorCount": 0}

    @staticmethod
    def runtimeGetVersion():
        return 13000

    @staticmethod
    def driverGetVersion():
        return 13000


runtime = _Runtime()


class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def synchronize(self):
        pass

    def use(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def get_device_id():
    return 0
