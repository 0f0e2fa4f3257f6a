"""Fixtures for the tests of dbnlib (the environment is set in ../conftest.py)."""

import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # in this process only: notebook kernels keep the inline backend

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def root():
    return ROOT
