"""Chapters 1-3 and every solution notebook run on the CuPy stand-in (see ``cupy_notebooks.py``)."""

import pytest
from cupy_notebooks import notebooks, run_on_standin


@pytest.mark.parametrize("notebook", notebooks("chapters", 1, 3) + notebooks("solutions"))
def test_notebook_runs_on_cupy(notebook, monkeypatch):
    run_on_standin(notebook, monkeypatch)
