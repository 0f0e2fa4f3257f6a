"""The binary RBM: chapter 5's quantities against enumeration of the joint
table, exact log Z and gradients against brute force and finite differences,
samplers against exact means, training against the exact log-likelihood,
saving and resuming bit for bit, and the errors a learner will meet."""

import copy
import itertools

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from scipy.stats import chi2

import dbnlib.training
from dbnlib._validation import TrainingDiverged
from dbnlib.backend import RNG
from dbnlib.gradcheck import numerical_gradient
from dbnlib.rbm import RBM, binary_states


def _states(n):
    return binary_states(n)


def _model(n_visible, n_hidden, seed=0, scale=1.0, **kwargs):
    """A float64 RBM with random parameters of the given scale."""
    rng = np.random.default_rng(seed)
    model = RBM(n_visible, n_hidden, dtype="float64", random_state=seed, **kwargs)
    model.W = rng.normal(0, scale, (n_visible, n_hidden))
    model.a = rng.normal(0, scale, n_visible)
    model.b = rng.normal(0, scale, n_hidden)
    return model


def _joint(model):
    """All (v, h) pairs and p(v, h), by brute force over the 2^(V+H) table."""
    V, H = model.W.shape
    pairs = _states(V + H)
    v, h = pairs[:, :V], pairs[:, V:]
    minus_e = v @ model.a + h @ model.b + np.einsum("ni,ij,nj->n", v, model.W, h)
    return v, h, np.exp(minus_e - logsumexp(minus_e)), logsumexp(minus_e)


def _prototype_data(n=300, V=10, seed=0):
    """Three binary prototypes with 5% of bits flipped: a distribution an RBM can learn."""
    rng = np.random.default_rng(seed)
    protos = rng.random((3, V)) < 0.5
    X = protos[rng.integers(0, 3, n)] ^ (rng.random((n, V)) < 0.05)
    return X.astype(np.float64)


# --- chapter 5: the quantities ---------------------------------------------


def test_energy_matches_the_formula():
    model = _model(6, 5)
    rng = np.random.default_rng(1)
    v, h = (rng.random((7, 6)) < 0.5) * 1.0, (rng.random((7, 5)) < 0.5) * 1.0
    by_hand = [-(model.a @ v[n]) - model.b @ h[n] - sum(v[n, i] * model.W[i, j] * h[n, j]
               for i in range(6) for j in range(5)) for n in range(7)]  # fmt: skip
    np.testing.assert_allclose(model.energy(v, h), by_hand, rtol=1e-12)


def test_free_energy_is_minus_log_sum_over_h():
    model = _model(6, 5)
    v, hs = _states(6), _states(5)
    direct = [-logsumexp(-model.energy(np.repeat(row[None], len(hs), 0), hs)) for row in v]
    np.testing.assert_allclose(model.free_energy(v), direct, rtol=1e-12)


def test_conditionals_match_the_joint_table():
    model = _model(5, 4)
    v, h, p, _ = _joint(model)
    V_states, H_states = _states(5), _states(4)
    for k, row in enumerate(V_states):  # p(h_j = 1 | v) = sum_h p(v, h) h_j / p(v)
        mask = np.all(v == row, axis=1)
        np.testing.assert_allclose(model.prob_h_given_v(row[None])[0], p[mask] @ h[mask] / p[mask].sum(), rtol=1e-10)
    for row in H_states:
        mask = np.all(h == row, axis=1)
        np.testing.assert_allclose(model.prob_v_given_h(row[None])[0], p[mask] @ v[mask] / p[mask].sum(), rtol=1e-10)


def test_log_partition_agrees_whichever_layer_is_enumerated():
    model = _model(6, 5, scale=1.5)  # enumerates the 5 hidden units
    swapped = RBM(5, 6, dtype="float64")  # the same distribution with the layers' roles swapped
    swapped.W, swapped.a, swapped.b = model.W.T.copy(), model.b.copy(), model.a.copy()
    assert model._enumerated_layer() == "hidden" and swapped._enumerated_layer() == "visible"
    brute = _joint(model)[3]
    assert abs(model.log_partition() - swapped.log_partition()) < 1e-10
    assert abs(model.log_partition() - brute) < 1e-10


def test_probabilities_of_all_visible_states_sum_to_one():
    model = _model(6, 5, scale=1.5)
    log_p = -model.free_energy(_states(6)) - model.log_partition()
    assert abs(np.exp(log_p).sum() - 1) < 1e-10
    assert abs(model.log_likelihood(_states(6)) - log_p.mean()) < 1e-10


@pytest.mark.parametrize("shape", [(5, 4), (3, 6)])  # hidden and visible enumeration
def test_exact_gradient_matches_finite_differences(shape):
    model = _model(*shape, scale=0.7)
    X = (np.random.default_rng(2).random((30, shape[0])) < 0.4) * 1.0
    analytic = model.exact_gradient(X)
    eps = 1e-5
    numeric = numerical_gradient(lambda: model.log_likelihood(X), [model.W, model.a, model.b], eps=eps)
    for grad, num in zip(analytic, numeric):
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def test_sampled_means_match_exact_conditionals():
    model = _model(6, 5)
    n = 40000
    v = np.repeat((np.arange(6) % 2)[None] * 1.0, n, axis=0)
    h = np.repeat((np.arange(5) % 3 == 0)[None] * 1.0, n, axis=0)
    for samples, exact in [(model.sample_h_given_v(v, rng=1), model.prob_h_given_v(v[:1])[0]),
                           (model.sample_v_given_h(h, rng=2), model.prob_v_given_h(h[:1])[0])]:  # fmt: skip
        assert set(np.unique(samples)) <= {0.0, 1.0}
        z = (samples.mean(axis=0) - exact) / np.sqrt(exact * (1 - exact) / n)
        assert np.max(np.abs(z)) < 4.5


def test_gibbs_chain_reaches_the_exact_distribution():
    model = _model(4, 3)
    exact = np.exp(-model.free_energy(_states(4)) - model.log_partition())
    start = (np.random.default_rng(3).random((20000, 4)) < 0.5) * 1.0
    v = model.gibbs(start, steps=40, rng=4)
    codes = (v @ (2 ** np.arange(4)[::-1])).astype(int)  # row index of the state in _states(4)
    counts = np.bincount(codes, minlength=16)
    # 20,000 independent chains: the counts are multinomial(exact) once the chains have mixed, so
    # Pearson's statistic follows chi^2 with 15 degrees of freedom; fail only at p < 1e-4
    pearson = np.sum((counts - len(v) * exact) ** 2 / (len(v) * exact))
    assert pearson < chi2.isf(1e-4, df=15), f"Pearson chi^2 = {pearson:.1f}"
    assert 0.5 * np.abs(counts / len(v) - exact).sum() < 0.03  # and the distance is small in absolute terms


# --- chapter 6: training ---------------------------------------------------


@pytest.mark.parametrize("settings", [
    dict(learning_rate=0.1, n_epochs=30),  # CD-1, Hinton's momentum schedule
    dict(persistent=True, learning_rate=0.03, momentum=0.5, n_epochs=100),  # 10 particles: a gentler step
])  # fmt: skip
def test_training_increases_the_exact_log_likelihood(settings):
    X = _prototype_data()
    model = RBM(10, 4, batch_size=10, dtype="float64", random_state=0, **settings).fit(X)
    ll = model.history_["log_likelihood"]
    assert ll[-1] == pytest.approx(model.log_likelihood(X), abs=1e-12)
    assert ll[-1] > ll[0] + 0.5
    # better than the independent-bits model fit puts in first (a = logit of the means, W = 0)
    independent = RBM(10, 4, dtype="float64")
    independent.W[...] = 0
    independent._init_visible_bias(X)
    assert ll[-1] > independent.log_likelihood(X) + 1.0


def _one_update(X, **kwargs):
    """The estimate lr * gradient of one full-batch update from _model(5, 4)'s parameters."""
    ref = _model(5, 4, scale=0.5)
    model = RBM(5, 4, learning_rate=1.0, momentum=0.0, weight_decay=0.0, batch_size=len(X), dtype="float64",
                **kwargs)  # fmt: skip
    model.partial_fit(X)  # the first fit sets a from the data; now put the reference back
    model.W, model.a, model.b = ref.W.copy(), ref.a.copy(), ref.b.copy()
    model.partial_fit(X)
    return ref, (model.W - ref.W, model.a - ref.a, model.b - ref.b)


def test_cd_k_approaches_its_limit_and_pcd_the_exact_gradient():
    """Many chains, large k. CD's last visible and hidden steps use probabilities (Hinton's
    recipe), so as k grows its estimate tends to the model average of p(v|h) p(h | p(v|h))^T,
    exact in a but not in W and b; PCD's binary particles tend to the exact gradient."""
    X = np.tile((np.random.default_rng(0).random((20, 5)) < 0.4) * 1.0, (2000, 1))
    ref, cd = _one_update(X, k=50, random_state=1)
    exact = ref.exact_gradient(X)
    # the limit of the recipe, by enumerating h ~ p(h) of the model
    hs = _states(4)
    p_h = np.exp(ref._log_marginal_h(hs) - ref.log_partition())
    mean_v = expit(hs @ ref.W.T + ref.a)
    mean_h = expit(mean_v @ ref.W + ref.b)
    h_data = expit(X @ ref.W + ref.b)
    limit_W = X.T @ h_data / len(X) - (mean_v * p_h[:, None]).T @ mean_h
    limit_b = h_data.mean(axis=0) - p_h @ mean_h
    assert np.abs(cd[0] - limit_W).max() < 3e-3
    assert np.abs(cd[2] - limit_b).max() < 3e-3
    assert np.abs(cd[1] - exact[1]).max() < 3e-3
    assert np.abs(limit_W - exact[0]).max() > 0.01  # the mean-field bias is real; CD-1 sits elsewhere still
    _, cd1 = _one_update(X, k=1, random_state=1)
    assert np.abs(cd1[1] - exact[1]).max() > 0.01
    _, pcd = _one_update(X, k=50, persistent=True, random_state=2)
    for estimate, truth in zip(pcd, exact):
        assert np.abs(estimate - truth).max() < 5e-3


def test_momentum_schedule_and_weight_decay():
    """velocity_t = momentum_t velocity_{t-1} + (the step without momentum), and
    W_t = (1 - lr wd) W_{t-1} + velocity_t."""
    X = _prototype_data(n=40)
    model = RBM(10, 4, learning_rate=0.1, momentum=(0.5, 0.9), momentum_switch_epoch=1, weight_decay=0.01,
                batch_size=40, dtype="float64", random_state=0)  # fmt: skip
    model.partial_fit(X)
    for momentum in (0.9, 0.9):
        bare = copy.deepcopy(model)  # the same state and the same random stream
        bare.momentum, bare.weight_decay = 0.0, 0.0
        before, W_before = model.velocity_W_.copy(), model.W.copy()
        model.partial_fit(X)
        bare.partial_fit(X)
        np.testing.assert_allclose(model.velocity_W_, momentum * before + bare.velocity_W_, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(model.W, (1 - 0.1 * 0.01) * W_before + model.velocity_W_, rtol=1e-14)
    first = RBM(10, 4, momentum=(0.5, 0.9), batch_size=40, dtype="float64", random_state=0)
    bare = copy.deepcopy(first)
    bare.momentum = 0.0
    first.velocity_W_[...] = bare.velocity_W_[...] = 1.0
    first.partial_fit(X)
    bare.partial_fit(X)
    np.testing.assert_allclose(first.velocity_W_, 0.5 + bare.velocity_W_, rtol=1e-12)  # epoch 0: momentum 0.5


def test_sparsity_target_pulls_hidden_activity_down():
    X = _prototype_data(n=400, V=20)
    common = dict(learning_rate=0.1, batch_size=20, n_epochs=20, random_state=0)
    plain = RBM(20, 10, **common).fit(X)
    sparse = RBM(20, 10, sparsity_target=0.05, sparsity_cost=1.0, **common).fit(X)
    activity, sparse_activity = plain.transform(X).mean(), sparse.transform(X).mean()
    assert sparse_activity < 0.15 < activity
    np.testing.assert_allclose(sparse.hidden_activity_.mean(), sparse_activity, atol=0.05)


def test_fit_restarts_partial_fit_continues_and_float32_stays():
    X = _prototype_data(n=100)
    model = RBM(10, 4, n_epochs=3, batch_size=30, random_state=0)  # 100 rows: a last batch of 10
    model.fit(X)
    W = model.W.copy()
    model.fit(X)  # a second fit starts afresh from random_state: the same model again
    assert model.epochs_done_ == 3 and np.array_equal(model.W, W)
    other = RBM(10, 4, n_epochs=3, batch_size=30, random_state=0).fit(X[::-1])
    model.fit(X[::-1])  # ... and on new data it trains on the new data (it used to do nothing)
    assert np.array_equal(model.W, other.W)
    model.partial_fit(X)
    assert model.epochs_done_ == 4 and len(model.history_["epoch"]) == 3
    assert model.W.dtype == np.float32 and model.transform(X).dtype == np.float32


def test_transform_and_reconstruct_are_the_conditionals():
    model, X = _model(6, 5), _prototype_data(n=20, V=6)
    np.testing.assert_array_equal(model.transform(X), model.prob_h_given_v(X))
    np.testing.assert_allclose(model.reconstruct(X), model.prob_v_given_h(model.prob_h_given_v(X)), rtol=1e-15)


def test_pseudo_log_likelihood_flips_one_bit_per_row():
    model, X = _model(8, 5), _prototype_data(n=50, V=8)
    cols = RNG(7).integers(0, 8, size=50)
    flipped = X.copy()
    flipped[np.arange(50), cols] = 1 - flipped[np.arange(50), cols]
    delta = model.free_energy(flipped) - model.free_energy(X)
    expected = 8 * np.mean(-np.logaddexp(0, -delta))
    assert model.pseudo_log_likelihood(X, random_state=7) == pytest.approx(expected, rel=1e-12)


def test_history_records_every_monitor(capfd):
    X, X_val = _prototype_data(n=200), _prototype_data(n=50, seed=1)
    small = RBM(10, 4, n_epochs=3, batch_size=20, random_state=0).fit(X, X_val)
    h = small.history_
    assert set(h) == {"epoch", "reconstruction_error", "pseudo_log_likelihood", "free_energy_gap",
                      "log_likelihood", "seconds"}  # fmt: skip
    assert h["epoch"] == [1, 2, 3] and all(len(values) == 3 for values in h.values())
    gap = float(small.free_energy(X_val).mean() - small.free_energy(X).mean())
    assert h["free_energy_gap"][-1] == pytest.approx(gap, rel=1e-4)
    assert h["reconstruction_error"][-1] == pytest.approx(float(np.mean((small.reconstruct(X) - X) ** 2)), rel=1e-4)
    assert all(isinstance(x, float) for x in h["log_likelihood"] + h["pseudo_log_likelihood"])
    big = RBM(30, 25, n_epochs=1, random_state=0).fit((np.random.default_rng(0).random((50, 30)) < 0.5) * 1.0)
    assert big.history_["log_likelihood"] == [None] and big.history_["free_energy_gap"] == [None]
    assert capfd.readouterr().err == ""  # silent unless verbose
    RBM(10, 4, n_epochs=2, random_state=0, verbose=True).fit(X)
    assert "RBM" in capfd.readouterr().err


# --- saving, checkpoints, resuming ------------------------------------------


def _pcd_model(**kwargs):
    return RBM(12, 6, k=2, persistent=True, sparsity_target=0.1, sparsity_cost=0.1, batch_size=10, n_epochs=4,
               random_state=3, **kwargs)  # fmt: skip


def test_save_load_round_trip_restores_everything(tmp_path):
    X = _prototype_data(n=60, V=12)
    model = _pcd_model().fit(X, X_val=X[:10])
    model.save(tmp_path / "rbm.npz")
    back = RBM.load(tmp_path / "rbm.npz")
    for name in RBM._ARRAYS:
        assert np.array_equal(getattr(back, name), getattr(model, name)), name
        assert getattr(back, name).dtype == getattr(model, name).dtype
    assert back.get_params() == model.get_params()
    assert back.epochs_done_ == 4 and back.history_ == model.history_
    assert np.array_equal(back.rng_.random(5), model.rng_.random(5))  # the same random stream from here on


def test_interrupted_and_resumed_run_equals_a_straight_run(tmp_path, monkeypatch):
    X = _prototype_data(n=60, V=12)
    straight = _pcd_model().fit(X)
    path = tmp_path / "ckpt.npz"
    broken = _pcd_model()
    calls, step = [0], dbnlib.training._cd_step

    def interrupted(*args):  # Ctrl-C in the middle of epoch 3
        calls[0] += 1
        if calls[0] == 2 * 6 + 3:
            raise KeyboardInterrupt
        return step(*args)

    monkeypatch.setattr(dbnlib.training, "_cd_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        broken.fit(X, checkpoint_path=path)
    monkeypatch.setattr(dbnlib.training, "_cd_step", step)
    assert RBM.load(path).epochs_done_ == 2
    # the same command again resumes the run: a new model with the same settings, or the loaded one
    resumed = _pcd_model().fit(X, checkpoint_path=path)
    for name in RBM._ARRAYS:
        assert np.array_equal(getattr(resumed, name), getattr(straight, name)), name
    assert resumed.history_["pseudo_log_likelihood"] == straight.history_["pseudo_log_likelihood"]
    assert RBM.load(path).epochs_done_ == 4


# --- bad input ---------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    model = RBM(784, 10, n_epochs=1)
    X = np.random.default_rng(0).random((20, 784))
    with pytest.raises(ValueError, match=r"RBM.fit: X has 783 columns, the model has n_visible=784"):
        model.fit(X[:, :783])
    with pytest.raises(ValueError, match=r"RBM.fit: X must lie in \[0, 1\].*GaussianBernoulliRBM"):
        model.fit(X * 255)
    bad = X.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"RBM.fit: X contains NaN or inf \(first at row 3, column 5\)"):
        model.fit(bad)
    with pytest.raises(ValueError, match=r"RBM.fit: X_val contains NaN"):
        model.fit(X, X_val=bad)
    with pytest.raises(ValueError, match=r"RBM.prob_v_given_h: h has 3 columns, the model has n_hidden=10"):
        model.prob_v_given_h(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"RBM.energy: v has 2 rows but h has 3"):
        model.energy(X[:2], np.zeros((3, 10)))


@pytest.mark.parametrize("kwargs,message", [
    (dict(learning_rate=-1), r"RBM: learning_rate must be a finite number > 0, got -1.0"),
    (dict(learning_rate=float("inf")), r"RBM: learning_rate must be a finite number > 0, got inf"),
    (dict(k=0), r"RBM: k must be an integer >= 1, got 0"),
    (dict(momentum=(0.5, 1.5)), r"RBM: momentum must be a finite number >= 0 and < 1, got 1.5"),
    (dict(momentum=(0.5, 0.6, 0.7)), r"RBM: momentum must be a number in \[0, 1\) or a pair of such"),
    (dict(sparsity_target=2.0), r"RBM: sparsity_target must be a finite number > 0 and < 1, got 2.0"),
    (dict(dtype="float16"), r"RBM: dtype must be 'float32' or 'float64', got 'float16'"),
])  # fmt: skip
def test_bad_hyperparameters_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RBM(10, 5, **kwargs)


@pytest.mark.parametrize("kwargs,message", [
    (dict(k=2.5), r"RBM: k must be an integer, got 2.5 \(float\)"),
    (dict(batch_size=10.0), r"RBM: batch_size must be an integer, got 10.0"),
    (dict(n_epochs=True), r"RBM: n_epochs must be an integer, got True"),
    (dict(learning_rate="0.1"), r"RBM: learning_rate must be a real number, got '0.1' \(str\)"),
    (dict(persistent="yes"), r"RBM: persistent must be True or False"),
    (dict(random_state="seed"), r"RBM: random_state must be an int, None, a numpy.random.Generator or a dbnlib.RNG"),
    (dict(random_state=1.5), r"RBM: random_state must be an int, None"),
])  # fmt: skip
def test_wrong_types_raise_type_errors_naming_the_argument(kwargs, message):
    with pytest.raises(TypeError, match=message):
        RBM(10, 5, **kwargs)


def test_exploding_weights_raise_training_diverged():
    X = (np.random.default_rng(0).random((200, 20)) < 0.5) * 1.0
    with pytest.raises(TrainingDiverged, match=r"RBM.fit: training diverged at epoch 1.*lower the learning rate"):
        RBM(20, 10, learning_rate=1e5, n_epochs=3, random_state=0).fit(X)


def test_exact_answers_refuse_large_models():
    model = RBM(30, 25)
    with pytest.raises(ValueError, match=r"at most 20 units.*n_visible=30, n_hidden=25.*method='ais'"):
        model.log_partition()
    with pytest.raises(ValueError, match=r"method='ais'"):
        model.log_likelihood(np.zeros((2, 30)))
    with pytest.raises(ValueError, match=r"method must be 'exact' or 'ais', got 'magic'"):
        model.log_partition("magic")


# --- one interface: enumeration, warm start, checkpoints of other runs, set_weights, divergence ---


def test_binary_states_are_in_itertools_product_order():
    for n in (1, 3, 6):
        np.testing.assert_array_equal(binary_states(n), np.array(list(itertools.product([0.0, 1.0], repeat=n))))
    blocks = list(binary_states(5, chunk=7))
    assert [len(b) for b in blocks] == [7, 7, 7, 7, 4]
    np.testing.assert_array_equal(np.concatenate(blocks), binary_states(5))


@pytest.mark.parametrize("persistent", [False, True])
def test_warm_start_continues_exactly_as_one_longer_run(persistent):
    X = _prototype_data(n=60, V=12)
    kw = dict(batch_size=10, persistent=persistent, momentum_switch_epoch=3, sparsity_target=0.2,
              sparsity_cost=0.1, random_state=4)  # fmt: skip
    straight = RBM(12, 5, n_epochs=5, **kw).fit(X)
    warm = RBM(12, 5, n_epochs=2, **kw).fit(X).set_params(warm_start=True, n_epochs=3).fit(X)
    assert warm.epochs_done_ == 5 and warm.history_["epoch"] == [1, 2, 3, 4, 5]
    for name in RBM._ARRAYS:
        if getattr(straight, name) is not None:
            np.testing.assert_array_equal(getattr(warm, name), getattr(straight, name), err_msg=name)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    X = _prototype_data(n=60, V=12)
    path = tmp_path / "ckpt.npz"
    RBM(12, 5, n_epochs=2, batch_size=10, random_state=0).fit(X, checkpoint_path=path)
    with pytest.raises(ValueError, match=r"RBM.fit: .*ckpt.npz is a checkpoint of another run .*learning_rate"):
        RBM(12, 5, n_epochs=2, batch_size=10, learning_rate=0.2, random_state=0).fit(X, checkpoint_path=path)
    with pytest.raises(ValueError, match=r"RBM.fit: .*ckpt.npz is a checkpoint of a run on other data"):
        RBM(12, 5, n_epochs=2, batch_size=10, random_state=0).fit(X[::-1], checkpoint_path=path)
    # the same run again finds its finished checkpoint and returns the same model
    again = RBM(12, 5, n_epochs=2, batch_size=10, random_state=0).fit(X, checkpoint_path=path)
    np.testing.assert_array_equal(again.W, RBM.load(path).W)


def test_warm_start_with_a_finished_checkpoint_trains_n_epochs_more(tmp_path):
    """Fitting twice with warm_start and one checkpoint_path trains as fitting twice without it."""
    X = _prototype_data(n=60, V=12)
    path = tmp_path / "ckpt.npz"
    kw = dict(n_epochs=2, batch_size=10, random_state=0, warm_start=True)
    plain = RBM(12, 5, **kw).fit(X).fit(X)
    saved = RBM(12, 5, **kw).fit(X, checkpoint_path=path).fit(X, checkpoint_path=path)
    assert saved.epochs_done_ == plain.epochs_done_ == 4 and RBM.load(path).epochs_done_ == 4
    np.testing.assert_array_equal(saved.W, plain.W)
    # a new session resuming the same warm-started run from its (finished) checkpoint continues it too
    later = RBM(12, 5, **kw).fit(X, checkpoint_path=path)
    assert later.epochs_done_ == 6


def test_set_weights_copies_numpy_values_in_place_with_checks():
    model = RBM(4, 3, random_state=0)
    W = model.W
    model.set_weights(W=np.ones((4, 3)), a=np.arange(4), b=[0.5, 0.5, 0.5])
    assert model.W is W and model.W.dtype == np.float32
    np.testing.assert_array_equal(model.a, np.arange(4, dtype=np.float32))
    with pytest.raises(ValueError, match=r"RBM.set_weights: W must have shape \(4, 3\), got \(3, 4\)"):
        model.set_weights(W=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"RBM.set_weights: b contains NaN or inf"):
        model.set_weights(b=[0.0, np.nan, 0.0])
    with pytest.raises(TypeError, match=r"RBM.set_weights: a must be an array of numbers, got str"):
        model.set_weights(a="zeros")


def test_divergence_restores_the_parameters_of_the_last_good_epoch():
    X = (np.random.default_rng(0).random((200, 20)) < 0.5) * 1.0
    model = RBM(20, 10, learning_rate=1e5, n_epochs=3, random_state=0)
    with pytest.raises(TrainingDiverged, match=r"RBM.fit: training diverged at epoch 1 \(max \|W\| = "):
        model.fit(X)
    fresh = RBM(20, 10, random_state=0)
    np.testing.assert_array_equal(model.W, fresh.W)  # epoch 1 failed: back to the start of fit
    np.testing.assert_allclose(model.a, np.log(X.mean(0) / (1 - X.mean(0))), rtol=1e-6)
    assert model.epochs_done_ == 0 and np.isfinite(model.W).all()
