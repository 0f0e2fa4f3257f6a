"""Chapters 4-8 run on the CuPy stand-in (see ``cupy_notebooks.py``)."""

import pytest
from cupy_notebooks import notebooks, run_on_standin


@pytest.mark.parametrize("notebook", notebooks("chapters", 4))
def test_chapter_runs_on_cupy(notebook, monkeypatch):
    run_on_standin(notebook, monkeypatch)
