"""dbnlib.base: one interface for the five models (parameters, seeds, fitting twice, loading any model)."""

import numpy as np
import pytest

import dbnlib
from dbnlib import DBN, MLP, RBM, GaussianBernoulliRBM, LogisticRegression, to_numpy

X_BIN = (np.random.default_rng(0).random((40, 6)) < 0.4).astype(np.float64)
Y = np.arange(40) % 3


def _models():
    return {
        "LogisticRegression": LogisticRegression(n_epochs=3, weight_decay=1e-3, random_state=1),
        "MLP": MLP((6, 4, 3), n_epochs=2, batch_size=8, weight_decay=1e-3, random_state=1),
        "RBM": RBM(6, 4, n_epochs=2, batch_size=8, random_state=1),
        "GaussianBernoulliRBM": GaussianBernoulliRBM(6, 4, n_epochs=2, batch_size=8, random_state=1),
        "DBN": DBN((6, 4, 3), rbm_params=dict(n_epochs=2, batch_size=8),
                   fine_tune_params=dict(n_epochs=2, batch_size=8), random_state=1),  # fmt: skip
    }


def _fit(model):
    if isinstance(model, RBM):
        return model.fit(X_BIN)
    return model.fit(X_BIN, Y)


def _arrays(model):
    """Copies of every parameter array of a model, as NumPy, in a fixed order."""
    if isinstance(model, LogisticRegression):
        xs = [model.coef_, model.intercept_]
    elif isinstance(model, MLP):
        xs = [p for pair in model.params for p in pair]
    elif isinstance(model, DBN):
        return [np.array(to_numpy(x)) for rbm in model.rbms for x in (rbm.W, rbm.a, rbm.b)] + _arrays(model.mlp_)
    else:
        xs = [model.W, model.a, model.b]
    return [np.array(to_numpy(x)) for x in xs]


NAMES = list(_models())


@pytest.mark.parametrize("name", NAMES)
def test_get_params_gives_a_clone_and_repr_shows_what_differs(name):
    model = _models()[name]
    clone = type(model)(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert repr(clone) == repr(model) and repr(model).startswith(f"{name}(")
    assert "random_state=1" in repr(model) and "verbose" not in repr(model)
    with pytest.raises(ValueError, match=rf"{name}.set_params: unknown parameters \['colour'\]"):
        model.set_params(colour="red")


@pytest.mark.parametrize("name", NAMES)
def test_fit_twice_restarts_and_warm_start_continues(name):
    model = _fit(_models()[name])
    first = _arrays(model)
    again = _arrays(_fit(model))  # scikit-learn's rule: a second fit starts afresh from random_state
    for p, q in zip(first, again):
        np.testing.assert_array_equal(p, q)
    model.set_params(warm_start=True)
    moved = _arrays(_fit(model))
    assert any(not np.array_equal(p, q) for p, q in zip(first, moved))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [7, np.random.default_rng(7), dbnlib.RNG(7)], ids=["int", "Generator", "RNG"])
def test_every_kind_of_seed_is_accepted(name, seed):
    model = _models()[name].set_params(random_state=seed)
    assert _fit(model) is model


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", ["7", 7.0, True, np.random.RandomState(7)],
                         ids=["str", "float", "bool", "RandomState"])  # fmt: skip
def test_other_seeds_are_a_type_error_naming_the_argument(name, seed):
    with pytest.raises(TypeError, match=rf"{name}: random_state must be an int, None, a numpy.random.Generator"):
        _models()[name].set_params(random_state=seed)


@pytest.mark.parametrize("name", NAMES)
def test_dbnlib_load_returns_the_saved_class_with_its_parameters(name, tmp_path):
    model = _fit(_models()[name])
    model.save(tmp_path / "m.npz")
    back = dbnlib.load(tmp_path / "m.npz")
    assert type(back) is type(model) and back.get_params() == model.get_params()
    for p, q in zip(_arrays(model), _arrays(back)):
        np.testing.assert_array_equal(p, q)
    assert type(back) is type(type(model).load(tmp_path / "m.npz"))


def test_a_dbn_with_a_gaussian_first_layer_comes_back_gaussian(tmp_path):
    X = np.random.default_rng(1).normal(size=(40, 6))  # standardised real values, outside [0, 1]
    dbn = DBN((6, 4, 3), visible="gaussian", rbm_params=dict(n_epochs=2, batch_size=8), random_state=0).pretrain(X)
    assert [type(r) for r in dbn.rbms] == [GaussianBernoulliRBM, RBM]
    dbn.save(tmp_path / "dbn.npz")
    back = dbnlib.load(tmp_path / "dbn.npz")
    assert [type(r) for r in back.rbms] == [GaussianBernoulliRBM, RBM]
    np.testing.assert_array_equal(to_numpy(back.propagate_up(X)), to_numpy(dbn.propagate_up(X)))


def test_set_params_rebuilds_when_a_shape_changes_and_checks_values():
    rbm = RBM(6, 4, random_state=0)
    rbm.set_params(n_hidden=5)
    assert rbm.W.shape == (6, 5) and rbm.b.shape == (5,)
    with pytest.raises(ValueError, match="RBM: learning_rate must be a finite number > 0, got -0.1"):
        rbm.set_params(learning_rate=-0.1)
    mlp = MLP((6, 4, 3)).set_params(layer_sizes=(6, 5, 3))
    assert [W.shape for W, _ in mlp.params] == [(6, 5), (5, 3)]


@pytest.mark.parametrize("name", ["LogisticRegression", "DBN"])
def test_predicting_before_fit_is_a_not_fitted_error(name):
    with pytest.raises(dbnlib.NotFittedError, match=rf"{name}.predict: the model is not fitted yet; call fit"):
        _models()[name].predict(X_BIN)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(n_epochs=2.5), TypeError, r"n_epochs must be an integer, got 2.5 \(float\)"),
    (dict(batch_size="32"), TypeError, r"batch_size must be an integer( or None)?, got '32' \(str\)"),
    (dict(learning_rate="fast"), TypeError, r"learning_rate must be a real number, got 'fast' \(str\)"),
    (dict(learning_rate=float("inf")), ValueError, r"learning_rate must be a finite number > 0, got inf"),
    (dict(weight_decay=-1.0), ValueError, r"weight_decay must be a finite number >= 0, got -1.0"),
    (dict(warm_start="no"), TypeError, r"warm_start must be True or False"),
])  # fmt: skip
@pytest.mark.parametrize("name", ["LogisticRegression", "MLP", "RBM"])
def test_the_same_hyperparameter_checks_everywhere(name, kwargs, error, message):
    with pytest.raises(error, match=rf"{name}: {message}"):
        _models()[name].set_params(**kwargs)


def test_the_model_modules_import_in_the_books_order_without_cycles():
    import ast
    import pathlib

    folder = pathlib.Path(dbnlib.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:  # from .x import y / from . import x
                imported |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        graph[path.stem] = imported
    order = ["backend", "numerics", "logistic", "mlp", "rbm", "training", "ais", "gbrbm", "dbn"]
    assert "gbrbm" not in graph["rbm"]  # the Gaussian variant subclasses the RBM; the RBM does not import it
    assert "rbm" not in graph["training"]  # training works on the model it is given
    for i, module in enumerate(order):  # a model module imports only what the book has shown before it
        later = set(order[i + 1 :]) - ({"training", "ais"} if module == "rbm" else set())
        assert not graph[module] & later, f"{module} imports {graph[module] & later}"

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph.get(start, ()))

    assert not [m for m in graph if m != "__init__" and reaches(m, m)], "an import cycle inside dbnlib"
