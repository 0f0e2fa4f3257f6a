"""tools/execute_notebooks.py: byte-stable outputs, and re-running only what changed."""

import base64
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)


def test_consecutive_prints_to_one_stream_become_one_output():
    cell = new_code_cell("", outputs=[
        new_output("stream", name="stdout", text="a\n"),
        new_output("stream", name="stdout", text="b\n"),
        new_output("stream", name="stderr", text="warn\n"),
        new_output("stream", name="stdout", text="c\n"),
        new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
        new_output("stream", name="stdout", text="d\n"),
    ])
    ex.merge_streams(cell)
    kinds = [(o.output_type, o.get("name"), o.get("text")) for o in cell.outputs]
    assert kinds == [
        ("stream", "stdout", "a\nb\n"),
        ("stream", "stderr", "warn\n"),
        ("stream", "stdout", "c\n"),
        ("execute_result", None, None),
        ("stream", "stdout", "d\n"),
    ]


def widget_notebook(ids):
    """A notebook with a slider inside a box, its layout, and an orphan model, under the given ids."""
    box, slider, layout, orphan = ids
    state = {
        orphan: {"model_name": "LayoutModel", "state": {"width": "1px"}},
        layout: {"model_name": "LayoutModel", "state": {"width": "50%"}},
        slider: {"model_name": "IntSliderModel", "state": {"value": 3, "layout": f"IPY_MODEL_{layout}"}},
        box: {"model_name": "VBoxModel", "state": {"children": [f"IPY_MODEL_{slider}"]}},
    }
    nb = new_notebook(cells=[new_code_cell("w", outputs=[new_output(
        "display_data", data={ex.WIDGET_VIEW: {"model_id": box, "version_major": 2, "version_minor": 0}})])])
    nb.metadata["widgets"] = {ex.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    nb.cells[0].id = "cell-1"  # fixed, as in a saved notebook
    return nb


def test_widget_ids_do_not_depend_on_the_kernels_random_uuids():
    import uuid

    runs = []
    for _ in range(2):
        ids = [uuid.uuid4().hex for _ in range(4)]
        nb = widget_notebook(ids)
        ex.stable_widget_ids(nb, "05_rbm")
        runs.append(nbformat.writes(nb))
        assert not any(i in runs[-1] for i in ids), "an old id survived the renaming"
    assert runs[0] == runs[1]
    nb = nbformat.reads(runs[0], as_version=4)
    state = nb.metadata["widgets"][ex.WIDGET_STATE]["state"]
    box = nb.cells[0].outputs[0].data[ex.WIDGET_VIEW]["model_id"]
    slider = state[box]["state"]["children"][0].removeprefix("IPY_MODEL_")
    layout = state[slider]["state"]["layout"].removeprefix("IPY_MODEL_")
    assert state[slider]["model_name"] == "IntSliderModel" and state[layout]["state"] == {"width": "50%"}
    # numbered in the order: shown model, its children, then models no output shows
    import hashlib

    expected = [hashlib.sha256(f"05_rbm:{i}".encode()).hexdigest()[:32] for i in range(4)]
    orphan = next(iter(set(state) - {box, slider, layout}))
    assert [box, slider, layout, orphan] == expected


def test_the_inputs_hash_follows_sources_and_tags_not_outputs(tmp_path):
    path = tmp_path / "n.ipynb"
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("print(1)")])
    h0 = ex.inputs_sha256(path, nb)
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="1\n")]
    nb.cells[1].execution_count = 1
    assert ex.inputs_sha256(path, nb) == h0
    nb.cells[1].metadata["tags"] = ["nbval-ignore-output"]
    h1 = ex.inputs_sha256(path, nb)
    nb.cells[1].source = "print(2)"
    h2 = ex.inputs_sha256(path, nb)
    assert len({h0, h1, h2}) == 3
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.json").write_text("{}")
    assert ex.inputs_sha256(path, nb) != h2


def test_a_folder_the_notebook_declares_it_reads_is_an_input(tmp_path):
    """Chapter 8 reads benchmarks/results: a new benchmark file must make `make execute` re-run it."""
    (tmp_path / "bench").mkdir()
    path = tmp_path / "chapters" / "n.ipynb"
    nb = new_notebook(cells=[new_code_cell("print(1)")])
    h0 = ex.inputs_sha256(path, nb)
    (tmp_path / "bench" / "2026-12-02-cpu.json").write_text("{}")
    assert ex.inputs_sha256(path, nb) == h0  # not declared: not an input
    nb.metadata["course"] = {"reads": [str(tmp_path / "bench")]}  # absolute here; the book's are repo-relative
    h1 = ex.inputs_sha256(path, nb)
    (tmp_path / "bench" / "2026-12-03-gpu.json").write_text("{}")
    assert ex.inputs_sha256(path, nb) != h1


@pytest.mark.slow
def test_a_notebook_run_twice_is_saved_as_the_same_bytes_and_then_skipped(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nb = new_notebook(cells=[
        new_code_cell("import sys\nprint('one')\nsys.stdout.flush()\nprint('two')"),
        new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"),
        new_code_cell("import ipywidgets as w\nw.VBox([w.IntSlider(3)])"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    assert ex.execute(path, timeout=120) is not None
    first = path.read_bytes()
    assert ex.execute(path, timeout=120) is None, "an unchanged notebook was re-run"
    assert ex.execute(path, timeout=120, force=True) is not None
    assert path.read_bytes() == first, "a forced re-run changed the saved bytes"
    saved = nbformat.reads(first.decode(), as_version=4)
    assert [o.output_type for o in saved.cells[0].outputs] == ["stream"]
    png = base64.b64decode(saved.cells[1].outputs[0].data["image/png"])
    assert png.startswith(b"\x89PNG") and b"Software" not in png and b"matplotlib" not in png.lower()
    assert json.dumps(saved.metadata["widgets"]).count("IPY_MODEL_") >= 1
