"""Set-up for every test run, tests/ and notebooks alike.

The notebooks' saved outputs were made with the NumPy backend, so the suite
runs on NumPy unless told otherwise (``DBNLIB_BACKEND=cupy`` for the GPU
check). Kernels started by nbval inherit this environment.
"""

import os

os.environ.setdefault("DBNLIB_BACKEND", "numpy")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
