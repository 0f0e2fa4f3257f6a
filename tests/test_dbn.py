"""dbnlib.DBN: greedy pre-training, weight sharing with the MLP, sampling, saving (chapter 7)."""


import numpy as np
import pytest

import dbnlib
import dbnlib.training
from dbnlib import DBN, MLP, to_numpy
from dbnlib.datasets import load_digits, train_test_split
from dbnlib.dbn import LabelledRBM, down_pass, mlp_params, up_pass
from dbnlib.rbm import RBM, binary_states


def _data(n=60, V=8, seed=0):
    """Binary rows from three noisy prototypes."""
    rng = np.random.default_rng(seed)
    protos = rng.random((3, V)) < 0.5
    rows = protos[rng.integers(0, 3, n)]
    flips = rng.random((n, V)) < 0.1
    return (rows ^ flips).astype(np.float64)


def _small_dbn(sizes=(8, 6, 5, 4), epochs=4, seed=3):
    return DBN(sizes, rbm_params=dict(n_epochs=epochs, batch_size=10, learning_rate=0.1), random_state=seed)


def _arrays(dbn):
    return [to_numpy(getattr(rbm, name)) for rbm in dbn.rbms for name in RBM._ARRAYS if getattr(rbm, name) is not None]


# --- greedy pre-training ------------------------------------------------------


def test_each_rbm_is_trained_once_on_the_previous_layers_transform(monkeypatch):
    seen, transforms = {}, []
    fit, transform = RBM.fit, RBM.transform

    def recording_fit(self, X, *args, **kwargs):
        seen.setdefault(id(self), []).append(np.array(to_numpy(X)))
        return fit(self, X, *args, **kwargs)

    def counting_transform(self, X):
        transforms.append(id(self))
        return transform(self, X)

    monkeypatch.setattr(RBM, "fit", recording_fit)
    monkeypatch.setattr(RBM, "transform", counting_transform)
    X = _data()
    dbn = _small_dbn().pretrain(X)
    # the cache: one transform per layer for the whole of pre-training, not one per epoch
    assert transforms == [id(rbm) for rbm in dbn.rbms]
    assert dbn.layers_done_ == 3 and all(rbm.epochs_done_ == 4 for rbm in dbn.rbms)
    monkeypatch.setattr(RBM, "transform", transform)
    expected = up_pass(dbn.rbms, X.astype(np.float32))
    for i, rbm in enumerate(dbn.rbms):
        (trained_on,) = seen[id(rbm)]
        np.testing.assert_array_equal(trained_on, to_numpy(expected[i]))
    np.testing.assert_array_equal(to_numpy(dbn.propagate_up(X)), to_numpy(expected[-1]))


def test_a_one_layer_dbn_is_its_rbm():
    X = _data()
    dbn = DBN((8, 5), rbm_params=dict(n_epochs=5, batch_size=10, learning_rate=0.1), random_state=7).pretrain(X)
    rbm = RBM(8, 5, n_epochs=5, batch_size=10, learning_rate=0.1, weight_decay=2e-4, random_state=7).fit(X.astype(np.float32))
    for name in ("W", "a", "b"):
        np.testing.assert_array_equal(to_numpy(getattr(dbn.rbms[0], name)), to_numpy(getattr(rbm, name)))


def test_pretrain_skips_layers_already_done():
    dbn = _small_dbn().pretrain(_data())
    before = _arrays(dbn)
    dbn.pretrain(_data())  # nothing left to do
    assert all(np.array_equal(a, b) for a, b in zip(before, _arrays(dbn)))


# --- fine-tuning: the MLP holds the RBMs' own arrays ---------------------------


def test_to_mlp_shares_the_rbm_arrays_and_fine_tuning_moves_them():
    X, y = _data(), np.arange(60) % 3
    dbn = _small_dbn().pretrain(X)
    mlp = dbn.to_mlp(3, n_epochs=5)
    assert isinstance(mlp, MLP) and mlp.layer_sizes == (8, 6, 5, 4, 3)
    for i, rbm in enumerate(dbn.rbms):
        assert mlp.params[i][0] is rbm.W and mlp.params[i][1] is rbm.b
    assert all(p[0] is q[0] and p[1] is q[1] for p, q in zip(mlp.params, mlp_params(dbn.rbms)))
    W0 = to_numpy(dbn.rbms[0].W).copy()
    mlp.fit(X, y)
    assert not np.allclose(to_numpy(dbn.rbms[0].W), W0)
    # the MLP's forward pass is the DBN's up-pass followed by a softmax layer
    np.testing.assert_allclose(to_numpy(mlp.forward(X)[3]), to_numpy(dbn.propagate_up(X)), rtol=1e-5, atol=1e-6)


def test_fit_predicts_through_the_fine_tuned_mlp():
    X, y = _data(), np.arange(60) % 3
    dbn = DBN((8, 6), rbm_params=dict(n_epochs=2, batch_size=10), fine_tune_params=dict(n_epochs=3),
              random_state=0).fit(X, y)  # fmt: skip
    P = to_numpy(dbn.predict_proba(X))
    assert P.shape == (60, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(to_numpy(dbn.predict(X)), P.argmax(axis=1))
    assert dbn.score(X, y) == pytest.approx(np.mean(P.argmax(axis=1) == y))


def test_fine_tuned_dbn_on_digits_is_as_good_as_a_random_init_mlp():
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    ft = dict(learning_rate=0.1, momentum=0.9, batch_size=50, n_epochs=30)
    dbn = DBN((64, 100, 100), rbm_params=dict(n_epochs=15, batch_size=20, learning_rate=0.05),
              fine_tune_params=ft, random_state=0).fit(Xtr, ytr)  # fmt: skip
    mlp = MLP((64, 100, 100, 10), dtype="float32", random_state=0, **ft).fit(Xtr, ytr)
    dbn_acc, mlp_acc = dbn.score(Xte, yte), mlp.score(Xte, yte)
    assert dbn_acc >= 0.9
    assert dbn_acc >= mlp_acc - 0.02, (dbn_acc, mlp_acc)


# --- generation ---------------------------------------------------------------


def _states(n):
    return binary_states(n)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _bernoulli(states, P):
    """p(states | probabilities P) for every pair: shape (len(P), len(states))."""
    return np.prod(np.where(states[None] == 1, P[:, None], 1 - P[:, None]), axis=2)


def test_samples_follow_the_top_rbm_marginal_pushed_down_exactly():
    # A 4-3-2 DBN with hand-set weights: top RBM (3 visible, 2 hidden), directed layer 3 -> 4.
    rng = np.random.default_rng(0)
    dbn = DBN((4, 3, 2), rbm_params=dict(dtype="float64"), random_state=0)
    for rbm in dbn.rbms:
        rbm.W[...] = rng.normal(0, 1.5, rbm.W.shape)
        rbm.a[...] = rng.normal(0, 1, rbm.a.shape)
        rbm.b[...] = rng.normal(0, 1, rbm.b.shape)
    low, top = (tuple(to_numpy(x) for x in (r.W, r.a, r.b)) for r in dbn.rbms)
    # exact: p(h2) of the top RBM, then p(h1 | h2), then p(v | h1)
    H2, H1, V = _states(2), _states(3), _states(4)
    W, a, b = top
    log_p = H2 @ b + np.logaddexp(0, H2 @ W.T + a).sum(axis=1)
    p_h2 = np.exp(log_p - np.logaddexp.reduce(log_p))
    p_h1 = p_h2 @ _bernoulli(H1, _sigmoid(H2 @ W.T + a))
    p_v = p_h1 @ _bernoulli(V, _sigmoid(H1 @ low[0].T + low[1]))
    assert np.abs(p_v - 1 / 16).max() > 0.05  # far from uniform: the test has something to find
    # sampled: the mean of p(v | h1) over independent chains
    P = dbn.sample(20000, steps=30, random_state=1)
    assert P.shape == (20000, 4) and P.min() >= 0 and P.max() <= 1
    np.testing.assert_allclose(_bernoulli(V, P).mean(axis=0), p_v, atol=0.01)


def test_down_pass_samples_then_ends_in_probabilities():
    dbn = _small_dbn(epochs=1).pretrain(_data())
    rng = np.random.default_rng(0)
    h_top = (rng.random((5, 4)) < 0.5).astype(np.float32)
    ones = [np.ones((5, r.n_hidden), np.float32) for r in dbn.rbms[:-1]]  # u = 1: every unit off
    P = to_numpy(down_pass(dbn.rbms, h_top, ones))
    np.testing.assert_allclose(P, np.tile(_sigmoid(to_numpy(dbn.rbms[0].a)), (5, 1)), rtol=1e-5)


def test_sample_is_reproducible_and_leaves_the_model_alone():
    dbn = _small_dbn(epochs=2).pretrain(_data())
    before = _arrays(dbn)
    a, b = dbn.sample(7, steps=5, random_state=3), dbn.sample(7, steps=5, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (7, 8)
    assert all(np.array_equal(x, y) for x, y in zip(before, _arrays(dbn)))
    assert dbn.sample(3, steps=2, random_state=0, start=_data()[:3]).shape == (3, 8)


# --- saving and resuming ------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    X, y = _data(), np.arange(60) % 3
    dbn = _small_dbn().fit(X, y)
    dbn.save(tmp_path / "dbn.npz")
    back = DBN.load(tmp_path / "dbn.npz")
    assert back.layer_sizes == dbn.layer_sizes and back.layers_done_ == 3
    assert all(np.array_equal(p, q) for p, q in zip(_arrays(dbn), _arrays(back)))
    np.testing.assert_array_equal(to_numpy(back.predict_proba(X)), to_numpy(dbn.predict_proba(X)))
    assert back.mlp_.loss_curve_ == dbn.mlp_.loss_curve_
    assert back.mlp_.params[0][0] is back.rbms[0].W
    # the random streams come back too, so training or sampling goes on identically
    for r, s in zip(dbn.rbms, back.rbms):
        assert r.rng_.get_state() == s.rng_.get_state()
    np.testing.assert_array_equal(dbn.sample(4, 3, random_state=0), back.sample(4, 3, random_state=0))


def test_load_refuses_an_rbm_file(tmp_path):
    RBM(4, 2).save(tmp_path / "rbm.npz")
    with pytest.raises(ValueError, match="expected a DBN"):
        DBN.load(tmp_path / "rbm.npz")


@pytest.mark.parametrize("where", ["start of layer 2", "third epoch of layer 2"])
def test_interrupted_pretraining_resumes_in_the_layer_it_stopped_in(tmp_path, monkeypatch, where):
    X = _data()
    reference = _small_dbn().pretrain(X)
    fit, epoch = RBM.fit, dbnlib.training._epoch
    calls = {"epochs": 0, "fits": []}

    def interrupting_fit(self, X, *args, **kwargs):
        calls["fits"].append(self.n_visible)
        if self.n_visible == 6 and where == "start of layer 2":
            raise KeyboardInterrupt
        return fit(self, X, *args, **kwargs)

    def interrupting_epoch(model, *args):
        if model.n_visible == 6 and where == "third epoch of layer 2":
            calls["epochs"] += 1
            if calls["epochs"] == 3:
                raise KeyboardInterrupt
        return epoch(model, *args)

    monkeypatch.setattr(RBM, "fit", interrupting_fit)
    monkeypatch.setattr(dbnlib.training, "_epoch", interrupting_epoch)
    with pytest.raises(KeyboardInterrupt):
        _small_dbn().pretrain(X, checkpoint_dir=tmp_path)
    monkeypatch.setattr(dbnlib.training, "_epoch", epoch)
    resumed = DBN.load(tmp_path / "dbn.npz")
    assert resumed.layers_done_ == 1
    assert resumed.rbms[1].epochs_done_ == 0  # dbn.npz holds layer 2 as it was before training
    trained = []

    def counting_epoch(model, *args):
        trained.append(model.n_visible)
        return epoch(model, *args)

    monkeypatch.setattr(RBM, "fit", fit)
    monkeypatch.setattr(dbnlib.training, "_epoch", counting_epoch)
    resumed.pretrain(X, checkpoint_dir=tmp_path)
    assert resumed.layers_done_ == 3
    # layer 1 is not trained again; layer 2 goes on from its last per-epoch checkpoint
    assert trained == [6] * (4 if where == "start of layer 2" else 2) + [5] * 4
    for p, q in zip(_arrays(reference), _arrays(resumed)):
        np.testing.assert_array_equal(p, q)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["dbn.npz"]  # the per-layer checkpoints are gone


# --- bad input ----------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="at least two positive sizes"):
        DBN((784,))
    with pytest.raises(ValueError, match="rbm_params has 1 dicts for 2 RBMs"):
        DBN((4, 3, 2), rbm_params=[{}])
    with pytest.raises(ValueError, match="may not set"):
        DBN((4, 3), rbm_params=dict(n_hidden=5))
    with pytest.raises(ValueError, match="unknown fine_tune_params"):
        DBN((4, 3), fine_tune_params=dict(epochs=5))
    dbn = DBN((8, 4), rbm_params=dict(n_epochs=1))
    with pytest.raises(ValueError, match="DBN.pretrain: X has 7 columns, the model expects 8"):
        dbn.pretrain(np.zeros((5, 7)))
    with pytest.raises(ValueError, match=r"DBN.pretrain: X must lie in \[0, 1\]"):
        dbn.pretrain(np.full((5, 8), 2.0))
    with pytest.raises(RuntimeError, match="call fit"):
        dbn.predict(np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"DBN.fit: y has 4 labels but X has 5 rows"):
        dbn.fit(np.zeros((5, 8)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="DBN.sample: need n >= 1"):
        dbn.sample(0)
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        dbn.to_mlp(1)


# --- one interface: labels, Gaussian input, checkpoints of other runs ------------


def test_labels_go_through_classes_like_scikit_learn():
    X = _data()
    y = np.where(np.arange(60) % 2 == 0, 3, 7)
    dbn = _small_dbn().fit(X, y)
    np.testing.assert_array_equal(dbn.classes_, [3, 7])
    assert dbn.mlp_.layer_sizes[-1] == 2 and dbn.predict_proba(X).shape == (60, 2)
    pred = to_numpy(dbn.predict(X))
    assert set(pred) <= {3, 7}
    np.testing.assert_array_equal(pred, np.array([3, 7])[to_numpy(dbn.predict_proba(X)).argmax(axis=1)])
    assert dbn.score(X, y) == pytest.approx(np.mean(pred == y))


def test_a_gaussian_first_layer_takes_real_valued_data():
    X = np.random.default_rng(2).normal(size=(60, 8)) * 3
    y = np.arange(60) % 3
    dbn = DBN((8, 6, 4), visible="gaussian", rbm_params=dict(n_epochs=2, batch_size=10), random_state=0).fit(X, y)
    assert type(dbn.rbms[0]).__name__ == "GaussianBernoulliRBM" and dbn.rbms[0].learning_rate == 0.005
    assert dbn.predict(X).shape == (60,)
    # the generative pass ends in the Gaussian layer's mean a + h W^T, through its own prob_v_given_h
    sample = to_numpy(dbn.sample(5, steps=3, random_state=0))
    assert sample.shape == (5, 8) and (sample.min() < 0 or sample.max() > 1)
    with pytest.raises(ValueError, match=r"DBN.pretrain: X must lie in \[0, 1\]"):
        DBN((8, 6)).pretrain(X)


def test_down_pass_uses_each_layers_prob_v_given_h(monkeypatch):
    dbn = _small_dbn().pretrain(_data())
    calls = []
    original = RBM.prob_v_given_h

    def counting(self, h):
        calls.append(self.n_visible)
        return original(self, h)

    monkeypatch.setattr(RBM, "prob_v_given_h", counting)
    dbn.sample(3, steps=0, random_state=0)
    assert calls == [5, 6, 8]


def test_a_checkpoint_folder_from_another_run_is_refused(tmp_path):
    X = _data()
    _small_dbn().pretrain(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"DBN.pretrain: .*dbn.npz is a checkpoint of another run .*rbm_params"):
        _small_dbn(epochs=5).pretrain(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"DBN.pretrain: .*dbn.npz is a checkpoint of another run .*random_state"):
        _small_dbn(seed=4).pretrain(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"DBN.pretrain: .*dbn.npz is a checkpoint of a run on other data"):
        _small_dbn().pretrain(_data(seed=1), checkpoint_dir=tmp_path)
    # the same run finds its finished checkpoint: nothing is trained again
    again = _small_dbn().pretrain(X, checkpoint_dir=tmp_path)
    assert again.layers_done_ == 3
    np.testing.assert_array_equal(to_numpy(again.rbms[2].W), to_numpy(DBN.load(tmp_path / "dbn.npz").rbms[2].W))


# --- class-conditional generation (Hinton, Osindero & Teh 2006) ---------------------


def _labelled_data(n=90, V=8, seed=0):
    """Binary rows from three noisy prototypes, with the prototype as the label (1, 4 or 6)."""
    rng = np.random.default_rng(seed)
    protos = rng.random((3, V)) < 0.5
    k = np.arange(n) % 3
    rows = protos[k] ^ (rng.random((n, V)) < 0.05)
    return rows.astype(np.float64), np.array([1, 4, 6])[k]


def _generative_dbn(sizes=(8, 6, 5), epochs=5, seed=3):
    X, y = _labelled_data()
    params = dict(n_epochs=epochs, batch_size=10, learning_rate=0.1, dtype="float64")
    return DBN(sizes, rbm_params=params, random_state=seed).fit_generative(X, y)


def _random_labelled_rbm(n_features=3, n_labels=4, n_hidden=3, seed=0):
    rng = np.random.default_rng(seed)
    rbm = LabelledRBM(n_features + n_labels, n_hidden, n_labels=n_labels, dtype="float64", random_state=seed)
    rbm.set_weights(W=rng.normal(0, 1.5, (n_features + n_labels, n_hidden)),
                    a=rng.normal(0, 1, n_features + n_labels), b=rng.normal(0, 1, n_hidden))  # fmt: skip
    return rbm, rng


def _energy(rbm, v, h):
    W, a, b = (to_numpy(x) for x in (rbm.W, rbm.a, rbm.b))
    return -(v @ a) - (h @ b) - np.einsum("ni,ij,nj->n", v, W, h)


def test_the_label_group_is_sampled_one_hot_with_the_softmax_frequencies():
    rbm, _ = _random_labelled_rbm()
    W, a = to_numpy(rbm.W), to_numpy(rbm.a)
    h = np.tile([0.0, 1.0, 0.0], (40000, 1))
    v = to_numpy(rbm.sample_v_given_h(h, rng=5))
    labels = v[:, 3:]
    assert set(np.unique(labels)) <= {0.0, 1.0} and np.all(labels.sum(axis=1) == 1)  # exactly one unit on
    z = a[3:] + W[3:] @ h[0]
    softmax = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert softmax.min() > 0.02  # every class is drawn often enough to be checked
    np.testing.assert_allclose(labels.mean(axis=0), softmax, atol=0.01)
    np.testing.assert_allclose(v[:, :3].mean(axis=0), _sigmoid(a[:3] + W[:3] @ h[0]), atol=0.01)
    # the mean of the visible layer is the same softmax (what CD-1's reconstruction uses)
    np.testing.assert_allclose(to_numpy(rbm.prob_v_given_h(h[:1]))[0, 3:], softmax, rtol=1e-10)


def test_the_label_conditional_given_the_features_matches_exact_enumeration():
    rbm, _ = _random_labelled_rbm()
    X = binary_states(3)  # every feature state
    E_l, H = np.eye(4), to_numpy(binary_states(3))
    # exact: p(l = e_k | x) = sum_h exp(-E(x, e_k, h)) / sum_{k', h} exp(-E(x, e_k', h))
    exact = np.zeros((8, 4))
    for i, x in enumerate(to_numpy(X)):
        for k in range(4):
            v = np.tile(np.concatenate([x, E_l[k]]), (len(H), 1))
            exact[i, k] = np.exp(-_energy(rbm, v, H)).sum()
    exact /= exact.sum(axis=1, keepdims=True)
    assert np.abs(exact - 0.25).max() > 0.1  # far from uniform: the test has something to find
    np.testing.assert_allclose(to_numpy(rbm.prob_labels_given_features(X)), exact, rtol=1e-10)
    # and Gibbs sampling (h | x, l then l | h, x held fixed) has that conditional as its stationary law
    x = np.tile(to_numpy(X)[5], (20000, 1))
    v = np.concatenate([x, np.eye(4)[np.zeros(20000, dtype=int)]], axis=1)
    rng = dbnlib.RNG(1)
    for _ in range(20):
        v = to_numpy(rbm.sample_v_given_h(rbm.sample_h_given_v(v, rng=rng), rng=rng))
        v[:, :3] = x
    np.testing.assert_allclose(v[:, 3:].mean(axis=0), exact[5], atol=0.015)


def test_labelled_rbm_log_z_sums_over_one_hot_labels_only():
    rbm, _ = _random_labelled_rbm()
    X, E_l, H = to_numpy(binary_states(3)), np.eye(4), to_numpy(binary_states(3))
    V = np.array([np.concatenate([x, e]) for x in X for e in E_l])  # the 32 legal visible states
    energies = np.array([_energy(rbm, np.tile(v, (len(H), 1)), H) for v in V])
    assert rbm.log_partition() == pytest.approx(np.logaddexp.reduce(-energies.ravel()), rel=1e-12)
    with pytest.raises(ValueError, match="only method='exact'"):
        rbm.log_partition("ais")


def test_fit_generative_trains_the_top_on_the_up_pass_joined_with_one_hot_labels(monkeypatch):
    X, y = _labelled_data()
    seen = {}
    fit = RBM.fit

    def recording_fit(self, H, *args, **kwargs):
        seen[type(self).__name__ + str(self.n_visible)] = np.array(to_numpy(H))
        return fit(self, H, *args, **kwargs)

    monkeypatch.setattr(RBM, "fit", recording_fit)
    dbn = _generative_dbn()
    top = dbn.rbms[-1]
    assert isinstance(top, LabelledRBM) and (top.n_visible, top.n_hidden, top.n_labels) == (9, 5, 3)
    assert dbn.n_labels_ == 3 and dbn.layers_done_ == 2
    np.testing.assert_array_equal(dbn.classes_, [1, 4, 6])
    onehot = (np.searchsorted([1, 4, 6], y)[:, None] == np.arange(3)).astype(float)
    expected = np.hstack([to_numpy(dbn.rbms[0].transform(X)), onehot])
    np.testing.assert_allclose(seen["LabelledRBM9"], expected, rtol=1e-12)
    # the lower layer is the plain DBN's (same seed), and warm_start keeps a pre-trained one
    plain = DBN((8, 6, 5), rbm_params=dict(n_epochs=5, batch_size=10, learning_rate=0.1, dtype="float64"),
                random_state=3).pretrain(X)  # fmt: skip
    np.testing.assert_array_equal(to_numpy(plain.rbms[0].W), to_numpy(dbn.rbms[0].W))
    W0 = to_numpy(plain.rbms[0].W).copy()
    plain.set_params(warm_start=True).fit_generative(X, y)
    np.testing.assert_array_equal(to_numpy(plain.rbms[0].W), W0)
    np.testing.assert_array_equal(to_numpy(plain.rbms[1].W), to_numpy(dbn.rbms[1].W))
    with pytest.raises(ValueError, match="DBN.to_mlp: this DBN's top RBM sees labels"):
        dbn.to_mlp(3)


def test_a_generative_dbn_classifies_by_free_energy():
    X, y = _labelled_data()
    dbn = _generative_dbn(epochs=30)
    P = to_numpy(dbn.predict_proba(X))
    np.testing.assert_allclose(P, to_numpy(dbn.rbms[-1].prob_labels_given_features(dbn.propagate_up(X, 1))))
    np.testing.assert_array_equal(to_numpy(dbn.predict(X)), np.array([1, 4, 6])[P.argmax(axis=1)])
    assert dbn.score(X, y) > 0.95  # three well-separated prototypes


def test_clamped_labels_never_change_during_the_chain(monkeypatch):
    dbn = _generative_dbn()
    seen = []
    original = LabelledRBM._sample_h

    def recording(self, v, rng):
        seen.append(np.array(to_numpy(v)[:, -3:]))
        return original(self, v, rng)

    monkeypatch.setattr(LabelledRBM, "_sample_h", recording)
    labels = np.array([6, 1, 4, 4, 6])
    dbn.sample(5, steps=25, random_state=0, labels=labels)
    assert len(seen) == 26  # every step, and the last hidden sample
    wanted = np.eye(3)[np.searchsorted([1, 4, 6], labels)]
    assert all(np.array_equal(s, wanted) for s in seen)
    # free labels (no ``labels``) do move
    seen.clear()
    dbn.sample(50, steps=25, random_state=0)
    assert any(not np.array_equal(s, seen[0]) for s in seen) and all(np.all(s.sum(axis=1) == 1) for s in seen)


def test_class_conditional_samples_follow_the_exact_law_pushed_down():
    # A 4-3-2 DBN with labels, hand-set weights: top LabelledRBM (3 features + 2 labels, 2 hidden), layer 3 -> 4.
    X, y = _labelled_data(V=4)
    dbn = DBN((4, 3, 2), rbm_params=dict(n_epochs=1, dtype="float64"), random_state=0).fit_generative(X, y)
    rng = np.random.default_rng(1)
    for i, rbm in enumerate(dbn.rbms):
        dbn.set_weights(i, W=rng.normal(0, 1.5, rbm.W.shape), a=rng.normal(0, 1, rbm.a.shape),
                        b=rng.normal(0, 1, rbm.b.shape))  # fmt: skip
    dbn.set_weights(1, W=np.vstack([to_numpy(dbn.rbms[1].W)[:3], [[3.0, -3.0], [0.0, 0.0], [-3.0, 3.0]]]))
    (W0, a0, _), (W, a, b) = (tuple(to_numpy(x) for x in (r.W, r.a, r.b)) for r in dbn.rbms)
    H, X3, V = (to_numpy(_states(n)) for n in (2, 3, 4))

    def exact(k):  # p(h | label k) summing over the features, then p(x | label k), then p(v | label k)
        log_p = H @ b + a[3 + k] + H @ W[3 + k] + np.logaddexp(0, H @ W[:3].T + a[:3]).sum(axis=1)
        p_h = np.exp(log_p - np.logaddexp.reduce(log_p))
        p_x = p_h @ _bernoulli(X3, _sigmoid(H @ W[:3].T + a[:3]))
        return p_x @ _bernoulli(V, _sigmoid(X3 @ W0.T + a0))

    assert np.abs(exact(2) - exact(0)).max() > 0.02  # the label matters: the test has something to find
    for label, k in ((6, 2), (1, 0)):
        P = to_numpy(dbn.sample(20000, steps=30, random_state=2, labels=label))
        assert P.shape == (20000, 4) and P.min() >= 0 and P.max() <= 1
        np.testing.assert_allclose(_bernoulli(V, P).mean(axis=0), exact(k), atol=0.006)


def test_generative_samples_are_reproducible_probabilities():
    dbn = _generative_dbn()
    before = _arrays(dbn)
    a = to_numpy(dbn.sample(12, steps=20, random_state=4, labels=np.repeat([1, 4, 6], 4)))
    b = to_numpy(dbn.sample(12, steps=20, random_state=4, labels=np.repeat([1, 4, 6], 4)))
    c = to_numpy(dbn.sample(12, steps=20, random_state=5, labels=np.repeat([1, 4, 6], 4)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (12, 8) and a.min() >= 0 and a.max() <= 1
    assert all(np.array_equal(x, y) for x, y in zip(before, _arrays(dbn)))
    assert to_numpy(dbn.sample(3, steps=2, random_state=0, start=_labelled_data()[0][:3], labels=4)).shape == (3, 8)
    assert to_numpy(dbn.sample(3, steps=0, random_state=0)).shape == (3, 8)  # free labels


def test_bad_labels_raise_clear_errors():
    dbn = _generative_dbn(epochs=1)
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among the classes \[1, 4, 6\]"):
        dbn.sample(3, steps=1, labels=[1, 2, 4])
    with pytest.raises(ValueError, match="DBN.sample: y has 2 labels but X has 3 rows"):
        dbn.sample(3, steps=1, labels=[1, 4])
    with pytest.raises(ValueError, match="integers"):
        dbn.sample(2, steps=1, labels=[1.5, 4])
    with pytest.raises(TypeError, match="integer class labels"):
        dbn.sample(2, steps=1, labels=["1", "4"])
    with pytest.raises(TypeError, match="labels must be an int or an array"):
        dbn.sample(2, steps=1, labels=True)
    plain = _small_dbn(epochs=1).pretrain(_data())
    with pytest.raises(ValueError, match="labels need a DBN whose top RBM sees labels; train it with fit_generative"):
        plain.sample(2, steps=1, labels=1)
    with pytest.raises(ValueError, match="at least two classes"):
        DBN((8, 4)).fit_generative(_data()[:10], np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="n_labels must be smaller than n_visible"):
        LabelledRBM(3, 2, n_labels=3)
    with pytest.raises(RuntimeError, match="call fit"):
        DBN((8, 4)).predict(_data()[:2])


def test_save_load_round_trips_a_labelled_dbn(tmp_path):
    X, _ = _labelled_data()
    dbn = _generative_dbn()
    dbn.save(tmp_path / "gen.npz")
    back = dbnlib.load(tmp_path / "gen.npz")
    assert isinstance(back, DBN) and isinstance(back.rbms[-1], LabelledRBM) and back.n_labels_ == 3
    assert back.rbms[-1].get_params() == dbn.rbms[-1].get_params()
    np.testing.assert_array_equal(back.classes_, dbn.classes_)
    assert all(np.array_equal(p, q) for p, q in zip(_arrays(dbn), _arrays(back)))
    np.testing.assert_array_equal(to_numpy(back.predict_proba(X)), to_numpy(dbn.predict_proba(X)))
    np.testing.assert_array_equal(to_numpy(back.sample(6, steps=10, random_state=1, labels=4)),
                                  to_numpy(dbn.sample(6, steps=10, random_state=1, labels=4)))  # fmt: skip
    clone = LabelledRBM(**dbn.rbms[-1].get_params())
    assert clone.n_labels == 3 and repr(clone) == repr(dbn.rbms[-1])


def test_labelled_rbm_exact_gradient_matches_finite_differences_and_training_starts_from_class_frequencies():
    rbm, rng = _random_labelled_rbm()
    X = np.hstack([rng.random((12, 3)) < 0.5, np.eye(4)[rng.integers(0, 4, 12)]]).astype(np.float64)
    analytic = [to_numpy(g) for g in rbm.exact_gradient(X)]
    numeric = dbnlib.numerical_gradient(lambda: rbm.log_likelihood(X), [rbm.W, rbm.a, rbm.b])
    for g, n in zip(analytic, numeric):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)
    y = np.array([0, 0, 0, 1, 2, 2] * 5)
    data = np.hstack([np.ones((30, 3)) * 0.5, np.eye(4)[y]])
    fresh = LabelledRBM(7, 3, n_labels=4, n_epochs=1, batch_size=10, dtype="float64", random_state=0)
    fresh.set_params(n_epochs=0).fit(data)  # zero epochs: only the start of training
    np.testing.assert_allclose(to_numpy(fresh.a)[3:], np.log([0.5, 1 / 6, 1 / 3, 1e-3]))
    fresh.set_params(n_epochs=3).fit(data)
    assert fresh.epochs_done_ == 3 and np.isfinite(fresh.history_["pseudo_log_likelihood"][-1])


# --- training for the class-conditional law: persistent particles with clamped labels ---------------


def _conditional_statistics(rbm, label_freq):
    """Exact E[v h^T], E[v], E[h] under sum_k label_freq[k] p(x, h | l = e_k), by enumerating x and h."""
    W, a, b = (to_numpy(x) for x in (rbm.W, rbm.a, rbm.b))
    f, L = rbm.n_features, rbm.n_labels
    Xs, Hs = to_numpy(_states(f)), to_numpy(_states(rbm.n_hidden))
    vhT, v_mean, h_mean = np.zeros_like(W), np.zeros_like(a), np.zeros_like(b)
    for k, weight in enumerate(label_freq):
        V = np.hstack([Xs, np.tile(np.eye(L)[k], (len(Xs), 1))])
        log_p = -np.array([[_energy(rbm, v[None], h[None])[0] for h in Hs] for v in V])  # (x states, h states)
        p = np.exp(log_p - np.logaddexp.reduce(log_p.ravel()))
        vhT += weight * V.T @ p @ Hs
        v_mean += weight * p.sum(axis=1) @ V
        h_mean += weight * p.sum(axis=0) @ Hs
    return vhT, v_mean, h_mean


def _conditional_log_likelihood(rbm, X):
    """mean_n log p(x_n | l_n) = -F(v_n) - log Z_{l_n}, Z_l summing exp(-F([x, l])) over every feature state x."""
    f, L = rbm.n_features, rbm.n_labels
    Xs = to_numpy(_states(f))
    log_z = [np.logaddexp.reduce(-to_numpy(rbm.free_energy(np.hstack([Xs, np.tile(np.eye(L)[k], (len(Xs), 1))]))))
             for k in range(L)]  # fmt: skip
    return float(np.mean(-to_numpy(rbm.free_energy(X)) - np.array(log_z)[X[:, f:].argmax(axis=1)]))


def test_clamped_label_pcd_follows_the_exact_gradient_of_the_class_conditional_likelihood():
    rbm, rng = _random_labelled_rbm(n_features=3, n_labels=3, n_hidden=2, seed=4)
    n = 6000
    y = np.repeat([0, 1, 2], [3000, 2000, 1000])
    X = np.hstack([rng.random((n, 3)) < 0.4, np.eye(3)[y]]).astype(np.float64)
    freq = np.array([0.5, 1 / 3, 1 / 6])
    W, b = to_numpy(rbm.W), to_numpy(rbm.b)
    H = _sigmoid(X @ W + b)
    neg = _conditional_statistics(rbm, freq)
    exact = (X.T @ H / n - neg[0], X.mean(axis=0) - neg[1], H.mean(axis=0) - neg[2])
    # the reference is the gradient of mean log p(x | l): finite differences of the enumerated objective agree
    numeric = dbnlib.numerical_gradient(lambda: _conditional_log_likelihood(rbm, X), [rbm.W, rbm.a, rbm.b])
    for g, d in zip(exact, numeric):
        np.testing.assert_allclose(g, d, rtol=1e-5, atol=1e-7)
    # ...and it is not the joint likelihood's gradient (free labels), so the check below can tell them apart
    joint = to_numpy(rbm.exact_gradient(X)[0])
    assert np.abs(joint - exact[0]).max() > 0.05

    # 6000 particles (one batch = all rows): 40 updates at a negligible rate let them mix, then one real update
    rbm.set_params(persistent=True, clamp_labels=True, batch_size=n, momentum=0.0, weight_decay=0.0,
                   learning_rate=1e-12, n_epochs=40, warm_start=True).fit(X)  # fmt: skip
    chain = to_numpy(rbm.persistent_chain_)
    np.testing.assert_array_equal(chain[:, 3:], np.eye(3)[y])  # the data's labels, one per particle
    before = [to_numpy(p).copy() for p in (rbm.W, rbm.a, rbm.b)]
    rbm.set_params(learning_rate=1e-3, n_epochs=1).fit(X)
    np.testing.assert_array_equal(to_numpy(rbm.persistent_chain_)[:, 3:], np.eye(3)[y])  # never resampled
    for g, p, p0 in zip(exact, (rbm.W, rbm.a, rbm.b), before):
        np.testing.assert_allclose((to_numpy(p) - p0) / 1e-3, g, atol=0.03)  # particle noise ~0.007


def test_clamped_labels_need_persistent_cd_and_one_hot_labels():
    with pytest.raises(ValueError, match="clamp_labels=True needs persistent=True"):
        LabelledRBM(7, 3, n_labels=4, clamp_labels=True)
    with pytest.raises(TypeError, match="clamp_labels"):
        LabelledRBM(7, 3, n_labels=4, persistent=True, clamp_labels="yes")
    rbm = LabelledRBM(7, 3, n_labels=4, persistent=True, clamp_labels=True, batch_size=4, n_epochs=1)
    with pytest.raises(ValueError, match="last n_labels=4 columns of X must be one-hot labels"):
        rbm.fit(np.full((8, 7), 0.5))
    # a fresh fit starts like an unclamped one: the label biases are the log class frequencies
    y = np.array([0, 0, 0, 1, 2, 2] * 5)
    data = np.hstack([np.ones((30, 3)) * 0.5, np.eye(4)[y]])
    fresh = LabelledRBM(7, 3, n_labels=4, persistent=True, clamp_labels=True, batch_size=6, n_epochs=2,
                        dtype="float64", random_state=0).fit(data)  # fmt: skip
    assert fresh.epochs_done_ == 2 and not fresh.warm_start
    assert to_numpy(fresh.a)[6] == pytest.approx(np.log(1e-3), abs=1e-9)  # no particle carries the absent class
    np.testing.assert_array_equal(to_numpy(fresh.persistent_chain_)[:, 3:].argmax(axis=1), [0, 0, 0, 1, 2, 2])
