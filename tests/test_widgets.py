"""dbnlib.widgets: the static twins that stand in for the ipywidgets on the website.

The browser tests (tests/test_browser.py, test_browser_selftest.py) move the
twins in Chromium; these check what the HTML carries, without a browser.
"""

import base64
import html
import io
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from dbnlib import widgets  # noqa: E402


def line_figure(slope, offset=0.0):
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 1, 20)
    ax.plot(x, slope * x + offset)
    ax.set_ylim(-3, 3)
    ax.set_title(f"slope {slope:g}, offset {offset:g}")
    return fig


def parse(twin_html):
    """The frames (PNG bytes), slider attributes and shown picture of a twin's HTML."""
    frames = [base64.b64decode(u.split(",", 1)[1])
              for u in json.loads(html.unescape(re.search(r'data-frames="([^"]*)"', twin_html).group(1)))]
    sliders = [dict(max=int(m), value=int(v), stride=int(s), labels=json.loads(html.unescape(lab)))
               for m, v, s, lab in re.findall(
                   r'<input type="range" min="0" max="(\d+)" step="1" value="(\d+)" data-stride="(\d+)" '
                   r'data-labels="([^"]*)"', twin_html)]
    shown = base64.b64decode(re.search(r'<img class="dbnlib-twin-figure" src="data:image/png;base64,([^"]+)"',
                                       twin_html).group(1))
    return frames, sliders, shown


def test_frames_follow_the_sliders_last_one_fastest():
    twin = widgets.static_twin(line_figure, {"slope": ("slope", [-2, 0, 2]), "offset": ("offset", [0.0, 1.0])},
                               initial={"slope": 2, "offset": 1.0})
    frames, sliders, shown = parse(twin.html())
    assert len(frames) == 6 == len(twin.frames)
    assert [s["stride"] for s in sliders] == [2, 1]
    assert [s["labels"] for s in sliders] == [["-2", "0", "2"], ["0", "1"]]
    assert [s["value"] for s in sliders] == [2, 1] and shown == frames[2 * 2 + 1]
    # Frame k is the figure for the k-th combination, drawn again independently.
    for k, (slope, offset) in enumerate([(s, o) for s in (-2, 0, 2) for o in (0.0, 1.0)]):
        assert frames[k] == widgets.figure_png(line_figure(slope, offset))
    assert len(set(frames)) == 6


def test_frames_are_small_byte_stable_palette_pngs():
    a = widgets.figure_png(line_figure(1.0))
    assert a == widgets.figure_png(line_figure(1.0))  # no date, no software version
    image = Image.open(io.BytesIO(a))
    assert image.format == "PNG" and image.mode == "P" and image.size == (3 * widgets.TWIN_DPI, 2 * widgets.TWIN_DPI)
    assert len(image.getcolors()) <= widgets.TWIN_COLORS
    assert len(a) < 15_000
    assert not plt.get_fignums()  # figure_png closed every figure


def test_twin_is_hidden_outside_the_book_and_reports_itself():
    twin = widgets.static_twin(line_figure, {"slope": ("slope", [1, 2])})
    text = twin.html()
    assert text.startswith('<div class="dbnlib-twin" style="display: none"') and "<script" not in text
    assert twin._repr_html_() == text and twin.n_bytes == len(text.encode())
    assert repr(twin).startswith("<StaticTwin: 2 frames (2 slope)")
    assert "JupyterLab" in text  # the default caption says where every value lives


@pytest.mark.parametrize("controls, initial, message", [
    ({}, None, "controls is empty"),
    ({"slope": ("slope", [])}, None, "at least one value"),
    ({"slope": ("slope",)}, None, "must be (description, values[, labels])"),
    ({"slope": ("slope", [1, 2], ["one"])}, None, "has 2 values and 1 labels"),
    ({"slope": ("slope", [1, 2])}, {"slope": 3}, "initial['slope'] = 3 is not one of [1, 2]"),
])
def test_bad_controls_are_refused_with_the_argument_named(controls, initial, message):
    with pytest.raises(ValueError) as err:
        widgets.static_twin(line_figure, controls, initial=initial)
    assert message in str(err.value)


def test_a_twin_needs_one_frame_per_combination():
    with pytest.raises(ValueError, match="frames has 3 pictures, the controls need 4"):
        widgets.StaticTwin([b"x"] * 3, [("a", ["1", "2"]), ("b", ["1", "2"])], (0, 0))


def test_rbm_weight_explorer_twin_moves_one_weight_and_leaves_the_arrays_alone():
    pytest.importorskip("ipywidgets")
    rng = np.random.default_rng(0)
    W, a, b = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=2)
    copies = W.copy(), a.copy(), b.copy()
    explorer = widgets.rbm_weight_explorer(W, a, b, i=1, j=0, limit=3.0)
    frames, sliders, shown = parse(explorer.twin.html())
    assert len(frames) == 13 and len(set(frames)) == 13
    assert sliders[0]["labels"][0] == "-3" and sliders[0]["labels"][-1] == "3"
    # It starts at the value nearest the weight passed in.
    values = np.linspace(-3.0, 3.0, 13)
    assert float(sliders[0]["labels"][sliders[0]["value"]]) == values[np.argmin(np.abs(values - W[1, 0]))]
    for x, y in zip((W, a, b), copies):
        np.testing.assert_array_equal(x, y)


def test_an_explorer_without_twin_is_the_widget_alone():
    pytest.importorskip("ipywidgets")
    rng = np.random.default_rng(1)
    explorer = widgets.rbm_weight_explorer(rng.normal(size=(2, 2)), np.zeros(2), np.zeros(2), twin=False)
    assert explorer.twin is None and type(explorer.widget).__name__ == "interactive"


def test_ais_paths_telescope_to_the_exact_ratio_without_weights():
    # With W = 0 and the base biases equal to a, p_beta differs from A only through the hidden
    # biases, and the log-weights telescope to log Z_B - log Z_A exactly, whatever the samples.
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=4), rng.normal(size=3)
    betas = np.linspace(0, 1, 7)
    paths = widgets._ais_paths(np.zeros((4, 3)), a, b, a.copy(), betas, 5, rng)
    assert paths.shape == (7, 5)
    want = np.logaddexp(0, b).sum() - 3 * np.log(2)
    np.testing.assert_allclose(paths[-1], want, rtol=1e-12)


def test_ais_explorer_twin_has_one_frame_per_temperature_count():
    pytest.importorskip("ipywidgets")
    from dbnlib.rbm import RBM

    rng = np.random.default_rng(3)
    rbm = RBM(5, 3, dtype="float64").set_weights(W=rng.normal(0, 2, (5, 3)), a=rng.normal(size=5), b=rng.normal(size=3))
    explorer = widgets.ais_explorer(rbm, n_betas=10, n_runs=4, n_repeats=3, values=(4, 10, 30))
    frames, sliders, shown = parse(explorer.twin.html())
    assert len(frames) == 3 and len(set(frames)) == 3
    assert sliders[0]["labels"] == ["4", "10", "30"] and sliders[0]["value"] == 1
    with pytest.raises(ValueError, match="at least 3"):
        widgets.ais_explorer(rbm, n_betas=10, values=(2, 10))
