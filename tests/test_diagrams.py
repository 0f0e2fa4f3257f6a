"""Tests of dbnlib.diagrams: the pictures are read back from the Axes and checked against the models."""

import re
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch

import dbnlib
from dbnlib import diagrams
from dbnlib.datasets import load_xor
from dbnlib.gradcheck import numerical_gradient

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def xor_mlp():
    X, y = load_xor()
    net = dbnlib.MLP((2, 3, 1), "sigmoid", "sigmoid", init="glorot", learning_rate=2.0, batch_size=4,
                     n_epochs=2000, random_state=0).fit(X, y)
    assert net.score(X, y) == 1.0
    return net


def _net_221(seed=3):
    net = dbnlib.MLP((2, 2, 1), "sigmoid", "sigmoid", init="glorot", random_state=seed)
    rng = np.random.default_rng(seed)
    for _, b in net.params:
        b[...] = dbnlib.asarray(rng.normal(scale=0.5, size=b.shape))  # a device array under CuPy
    return net


def _edges(ax):
    """The one LineCollection of weighted edges (gid "weights")."""
    found = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_gid() == "weights"]
    assert len(found) == 1
    return found[0]


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _number(ax, gid):
    """The number at the end of the Text artist with this gid, as it is printed."""
    (text,) = [t.get_text() for t in ax.texts if t.get_gid() == gid]
    return float(re.search(r"=\s*(-?[0-9.]+(?:e[-+]?\d+)?)\$?$", text).group(1))


def _arrows(ax, prefix):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch) and (p.get_gid() or "").startswith(prefix)]


def _close_to_printed(printed, exact):
    """``printed`` is ``exact`` to the 4 significant digits the diagrams print."""
    return printed == float(f"{exact:.4g}")


def _check_styles(lc, w):
    """Edge i's colour is the sign of w[i]; widths are ordered as |w| and the largest |w| is widest."""
    w = np.asarray(w, dtype=float).ravel()
    colors, widths = lc.get_colors(), np.asarray(lc.get_linewidths(), dtype=float)
    assert len(lc.get_segments()) == w.size == len(widths)
    for c, wi in zip(colors, w):
        assert tuple(c) == to_rgba(diagrams.POSITIVE if wi > 0 else diagrams.NEGATIVE)
    order = np.argsort(np.abs(w))
    assert np.all(np.diff(widths[order]) >= 0)
    assert widths[np.argmax(np.abs(w))] == widths.max() > widths.min()


# ---------------------------------------------------------------------- every figure renders cleanly
def _all_diagrams(xor_mlp):
    rbm = dbnlib.RBM(5, 3, random_state=0)
    return {
        "logistic_unit": lambda: diagrams.logistic_unit(3),
        "logistic_unit_hint": lambda: diagrams.logistic_unit([1, 1, -2], bias=-0.5,
                                                              input_labels=["x_1", "x_2", "x_1 x_2"]),
        "net_221": lambda: diagrams.feedforward_net((2, 2, 1)),
        "net_xor": lambda: diagrams.feedforward_net(xor_mlp),
        "net_deep": lambda: diagrams.feedforward_net((64, 30, 20, 10)),
        "computational_graph": lambda: diagrams.computational_graph([1.0, 0.5], 1, _net_221()),
        "rbm": lambda: diagrams.rbm_graph((4, 3)),
        "rbm_weights": lambda: diagrams.rbm_graph(rbm),
        "rbm_wide": lambda: diagrams.rbm_graph((784, 500)),
        "gibbs_1": lambda: diagrams.gibbs_chain(1),
        "gibbs_10": lambda: diagrams.gibbs_chain(10),
        "dbn": lambda: diagrams.dbn_diagram((784, 500, 500, 2000), n_labels=10, show_recognition=True),
        "tied": lambda: diagrams.tied_weights_net(3),
    }


def test_every_diagram_renders_without_warnings(xor_mlp):
    for name, draw in _all_diagrams(xor_mlp).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ax = draw()
            ax.figure.canvas.draw()
        assert ax.texts, name
        plt.close(ax.figure)


def test_draws_on_the_axes_it_is_given():
    fig, (ax1, ax2) = plt.subplots(1, 2)
    assert diagrams.rbm_graph((3, 2), ax=ax2) is ax2
    assert not ax1.patches and ax2.patches


# ---------------------------------------------------------------------- chapters 1-2
def test_logistic_unit_draws_the_xor_hint_weights():
    ax = diagrams.logistic_unit([1, 1, -2], bias=-0.5, input_labels=["x_1", "x_2", "x_1 x_2"])
    lc = _edges(ax)
    _check_styles(lc, [-0.5, 1, 1, -2])  # w_0 (the bias) first, then w_1..w_3
    assert _number(ax, "label:w_0") == -0.5 and _number(ax, "label:w_3") == -2
    text = " ".join(_texts(ax))
    assert "$x_1 x_2$" in text and r"\sigma" in text


def test_logistic_unit_from_a_fitted_model():
    X, y = load_xor()
    from dbnlib.logistic import LogisticRegression, xor_features

    model = LogisticRegression(learning_rate=1.0, n_epochs=300).fit(xor_features(X), y)
    ax = diagrams.logistic_unit(model)
    w = np.r_[dbnlib.to_numpy(model.intercept_), dbnlib.to_numpy(model.coef_)[:, 0]]
    _check_styles(_edges(ax), w)
    for i, wi in enumerate(w):
        assert _close_to_printed(_number(ax, f"label:w_{i}"), wi)


def test_symbolic_221_net_uses_the_chapter_2_names():
    ax = diagrams.feedforward_net((2, 2, 1))
    assert len(_edges(ax).get_segments()) == 6
    text = " ".join(_texts(ax))
    for name in ("x_1", "x_2", "h_1", "h_2", "$y$", "w_{11}", "w_{21}", "w_{12}", "w_{22}", "v_1", "v_2",
                 "b_1", "b_2", "$c$"):
        assert name in text, name


def test_xor_net_edges_follow_the_mlp_weights(xor_mlp):
    ax = diagrams.feedforward_net(xor_mlp)
    (W, b), (V, c) = [(dbnlib.to_numpy(W), dbnlib.to_numpy(b)) for W, b in xor_mlp.params]
    lc = _edges(ax)
    _check_styles(lc, np.r_[W.ravel(), V.ravel()])
    # the first 6 edges leave the input column, the last 3 enter the output unit
    starts = np.array([seg[0][0] for seg in lc.get_segments()])
    assert np.all(starts[:6] < starts[6:].min())
    for j in range(3):
        assert _close_to_printed(float(ax_text(ax, f"bias:1:{j}").split("=")[1].strip(" $")), b[j])
    assert _close_to_printed(float(ax_text(ax, "bias:2:0").split("=")[1].strip(" $")), c[0])
    for i in range(2):
        for j in range(3):
            assert _close_to_printed(float(ax_text(ax, f"edge:0:{i}:{j}")), W[i, j])


def ax_text(ax, gid):
    (text,) = [t.get_text() for t in ax.texts if t.get_gid() == gid]
    return text


def test_wide_layers_are_cut_and_counted(xor_mlp):
    ax = diagrams.feedforward_net((64, 30, 10), max_units=6)
    assert len(_edges(ax).get_segments()) == 5 * 5 + 5 * 5  # 4 first units and the last, per layer
    assert "$x_{64}$" in _texts(ax) and "$y_{10}$" in _texts(ax)
    # a weighted net from plain (W, b) pairs gives the same edges as the MLP
    pairs = [(dbnlib.to_numpy(W), dbnlib.to_numpy(b)) for W, b in xor_mlp.params]
    same = _edges(diagrams.feedforward_net(pairs)).get_linewidths()
    assert np.array_equal(same, _edges(diagrams.feedforward_net(xor_mlp)).get_linewidths())


# ---------------------------------------------------------------------- chapter 3
@pytest.mark.parametrize("x, t, seed", [([1.0, 0.5], 1, 3), ([-0.7, 2.0], 0, 4), ([0.3, -1.2], 1, 5)])
def test_computational_graph_prints_backprop_gradients(x, t, seed):
    net = _net_221(seed)
    ax = diagrams.computational_graph(x, t, net)
    X, y = np.array([x]), np.array([t])
    (dW, db), (dV, dc) = [(dbnlib.to_numpy(a), dbnlib.to_numpy(b)) for a, b in net.gradients(X, y)]
    expected = {"b_1": db[0], "b_2": db[1], "v_1": dV[0, 0], "v_2": dV[1, 0], "c": dc[0]}
    expected.update({f"w_{i + 1}{j + 1}": dW[i, j] for i in range(2) for j in range(2)})
    for name, g in expected.items():
        assert _close_to_printed(_number(ax, f"grad:{name}"), g), name

    # the forward values are the MLP's
    acts = [dbnlib.to_numpy(a) for a in net.forward(X)]
    assert _close_to_printed(_number(ax, "value:h_1"), acts[1][0, 0])
    assert _close_to_printed(_number(ax, "value:h_2"), acts[1][0, 1])
    assert _close_to_printed(_number(ax, "value:y"), acts[2][0, 0])
    assert _close_to_printed(_number(ax, "value:J"), net.loss(X, y))

    # the gradients at the inner nodes and the inputs, against central differences
    (W, b), (V, c) = [(dbnlib.to_numpy(a).copy(), dbnlib.to_numpy(bb).copy()) for a, bb in net.params]
    xv = np.array(x, dtype=float)
    h = 1 / (1 + np.exp(-(xv @ W + b)))
    u = np.array([float(h @ V[:, 0] + c[0])])
    yy = np.array([1 / (1 + np.exp(-u[0]))])

    def ce(p):
        return -(t * np.log(p) + (1 - t) * np.log(1 - p))

    fd = {
        "x": numerical_gradient(lambda: net.loss(xv[None, :], y), [xv])[0],
        "h": numerical_gradient(lambda: ce(1 / (1 + np.exp(-(h @ V[:, 0] + c[0])))), [h])[0],
        "u": numerical_gradient(lambda: ce(1 / (1 + np.exp(-u[0]))), [u])[0],
        "y": numerical_gradient(lambda: ce(yy[0]), [yy])[0],
    }
    for j in range(2):
        assert _number(ax, f"grad:x_{j + 1}") == pytest.approx(fd["x"][j], rel=1e-3, abs=1e-4)
        assert _number(ax, f"grad:h_{j + 1}") == pytest.approx(fd["h"][j], rel=1e-3, abs=1e-4)
        assert _number(ax, f"grad:z_{j + 1}") == _number(ax, f"grad:b_{j + 1}")
    assert _number(ax, "grad:u") == pytest.approx(fd["u"][0], rel=1e-3, abs=1e-4)
    assert _number(ax, "grad:y") == pytest.approx(fd["y"][0], rel=1e-3, abs=1e-4)
    assert _number(ax, "grad:J") == 1


def test_backprop_221_takes_plain_arrays_too():
    net = _net_221()
    pairs = [(dbnlib.to_numpy(W), dbnlib.to_numpy(b)) for W, b in net.params]
    assert diagrams.backprop_221([0.2, 0.4], 0, pairs) == diagrams.backprop_221([0.2, 0.4], 0, net)


# ---------------------------------------------------------------------- chapters 5-6
def test_rbm_graph_edges_follow_the_weights():
    rbm = dbnlib.RBM(5, 3, random_state=0)
    rng = np.random.default_rng(0)
    rbm.W[...] = rng.normal(size=rbm.W.shape)
    rbm.a[...] = rng.normal(size=5)
    rbm.b[...] = rng.normal(size=3)
    ax = diagrams.rbm_graph(rbm)
    _check_styles(_edges(ax), dbnlib.to_numpy(rbm.W))
    text = " ".join(_texts(ax))
    for name in ("$v_1$", "$v_5$", "$h_1$", "$h_3$", "$W$", "a_1", "b_3", "W_{ij}"):
        assert name in text, name
    assert _close_to_printed(float(ax_text(ax, "bias:a:4").split("=")[1].strip(" $")), float(rbm.a[4]))


def test_rbm_graph_symbolic_and_wide():
    ax = diagrams.rbm_graph((4, 3))
    assert len(_edges(ax).get_segments()) == 12
    ax = diagrams.rbm_graph((784, 500), max_units=8)
    assert len(_edges(ax).get_segments()) == 7 * 7
    assert "$v_{784}$" in _texts(ax) and "$h_{500}$" in _texts(ax)


@pytest.mark.parametrize("k", [1, 2, 3, 10])
def test_gibbs_chain_has_one_arrow_per_sampling_step(k):
    ax = diagrams.gibbs_chain(k, max_steps=4)
    shown = list(range(k + 1)) if k + 1 <= 4 else [0, 1, k]
    assert sorted(int(a.get_gid().split(":")[1]) for a in _arrows(ax, "up:")) == shown
    n_down = k if k + 1 <= 4 else 1  # h^(0) -> v^(1); the rest go through the dots
    assert len(_arrows(ax, "down:")) == n_down
    text = " ".join(_texts(ax))
    assert f"v^{{({k})}}" in text and "h^{(0)}" in text and r"\langle v_i h_j \rangle" in text
    assert ax_text(ax, "label:negative").count(f"({k})") == 3
    assert {p.get_gid() for p in ax.patches} >= {"stat:positive", "stat:negative"}


# ---------------------------------------------------------------------- chapter 7
def _points_down(arrow):
    (xa, ya), (xb, yb) = arrow._posA_posB
    return yb < ya


def _has_head(arrow):
    return type(arrow.get_arrowstyle()).__name__ != "Curve"


def test_dbn_lower_layers_point_down_and_the_top_is_undirected():
    ax = diagrams.dbn_diagram((784, 500, 500, 2000), n_labels=10, show_recognition=True)
    gen = _arrows(ax, "generative:")
    assert len(gen) == 2 and all(_points_down(a) and _has_head(a) for a in gen)
    rec = _arrows(ax, "recognition:")
    assert len(rec) == 2 and not any(_points_down(a) for a in rec)
    (top,) = _arrows(ax, "undirected")
    (labels,) = _arrows(ax, "labels")
    assert not _has_head(top) and not _has_head(labels)
    text = " ".join(_texts(ax))
    assert "10 label units" in text and "2000" in text and "W^{(2)}" in text and "h^{3}" in text


def test_dbn_diagram_reads_a_dbn():
    ax = diagrams.dbn_diagram(dbnlib.DBN((64, 30, 20)))
    assert len(_arrows(ax, "generative:")) == 1 and not _arrows(ax, "labels")
    assert any("64 visible" in t for t in _texts(ax)) and any("20 top" in t for t in _texts(ax))


def test_tied_weights_alternate_w_and_w_transposed():
    ax = diagrams.tied_weights_net(3)
    gen = sorted(_arrows(ax, "generative:"), key=lambda a: int(a.get_gid().split(":")[1]))
    assert len(gen) == 5 and all(_points_down(a) for a in gen)
    assert all(not _points_down(a) for a in _arrows(ax, "inference:"))
    # the generative labels, bottom to top: W (h^0 -> v^0), W^T (v^1 -> h^0), W, ...
    labels = [t.get_text() for t in ax.texts if t.get_text() in ("$W$", "$W^T$") and t.get_color() != "0.45"]
    assert labels == ["$W$", "$W^T$"] * 2 + ["$W$"]
    assert "complementary prior" in " ".join(_texts(ax))


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, match", [
    (lambda: diagrams.feedforward_net("abc"), TypeError, "source"),
    (lambda: diagrams.feedforward_net((2,)), ValueError, "at least 2"),
    (lambda: diagrams.feedforward_net([(np.ones((2, 3)), np.ones(2))]), ValueError, r"shape \(3,\)"),
    (lambda: diagrams.feedforward_net([(np.ones((2, 3)), np.ones(3)), (np.ones((2, 1)), np.ones(1))]),
     ValueError, "3 units"),
    (lambda: diagrams.feedforward_net((2, 2, 1), edge_labels="values"), ValueError, "needs weights"),
    (lambda: diagrams.computational_graph([1, 0], 1, dbnlib.MLP((2, 3, 1), output="sigmoid")), ValueError,
     r"\(2, 2, 1\)"),
    (lambda: diagrams.computational_graph([1, 0, 1], 1, _net_221()), ValueError, "x must hold 2"),
    (lambda: diagrams.computational_graph([1, 0], 2, _net_221()), ValueError, "t must lie in"),
    (lambda: diagrams.computational_graph([1, 0], 1, "weights"), TypeError, "params"),
    (lambda: diagrams.rbm_graph(object()), TypeError, "source"),
    (lambda: diagrams.rbm_graph((3, 4, 5)), ValueError, "n_visible, n_hidden"),
    (lambda: diagrams.logistic_unit([1.0, 2.0]), ValueError, "bias"),
    (lambda: diagrams.logistic_unit("x"), TypeError, "source"),
    (lambda: diagrams.logistic_unit(2, input_labels=["a"]), ValueError, "input_labels"),
    (lambda: diagrams.gibbs_chain(0), ValueError, "k"),
    (lambda: diagrams.gibbs_chain(1.5), TypeError, "k"),
    (lambda: diagrams.dbn_diagram(dbnlib.MLP((2, 2))), TypeError, "DBN"),
    (lambda: diagrams.dbn_diagram((10, 5), n_labels=1), ValueError, "n_labels"),
    (lambda: diagrams.tied_weights_net(0), ValueError, "n_pairs"),
    (lambda: diagrams.rbm_graph((3, 2), ax="axes"), TypeError, "ax"),
])
def test_bad_input_raises_a_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------- CuPy arrays
@pytest.mark.gpu
def test_models_on_the_gpu_are_drawn_like_on_the_cpu():
    cupy, why = dbnlib.backend._probe_cupy()
    if cupy is None:
        pytest.skip(f"no GPU: {why}")
    prev = dbnlib.get_backend()
    widths = {}
    try:
        for name in ("numpy", "cupy"):
            dbnlib.set_backend(name)
            rbm = dbnlib.RBM(5, 3, random_state=0, dtype="float64")
            net = _net_221()
            widths[name] = (_edges(diagrams.rbm_graph(rbm)).get_linewidths(),
                            _edges(diagrams.feedforward_net(net)).get_linewidths(),
                            diagrams.backprop_221([1.0, 0.5], 1, net))
    finally:
        dbnlib.set_backend(prev)
    for a, b in zip(widths["numpy"][:2], widths["cupy"][:2]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for key, (v, g) in widths["numpy"][2].items():
        assert widths["cupy"][2][key] == pytest.approx((v, g), rel=1e-9, abs=1e-12)
