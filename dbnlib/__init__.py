"""dbnlib: the one library behind the Deep Belief Networks course.

Modules follow the book: ``backend`` (NumPy or CuPy), ``numerics``,
``logistic`` (chapter 1), ``mlp`` and ``gradcheck`` (chapters 2-4), ``rbm``
and ``ais`` (chapters 5-6), ``dbn`` (chapter 7); then the helpers
``datasets``, ``plotting``, ``widgets`` and ``grading``.
"""

from . import backend
from .backend import RNG, asarray, backend_info, get_backend, set_backend, to_numpy, xp
from .numerics import (
    binary_cross_entropy,
    categorical_cross_entropy,
    log_softmax,
    sigmoid,
    softmax,
)

__version__ = "0.1.0"

__all__ = [
    "RNG",
    "asarray",
    "backend",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "get_backend",
    "log_softmax",
    "set_backend",
    "sigmoid",
    "softmax",
    "to_numpy",
    "xp",
]


def _optional(modname, names):
    """Re-export names from a module once it exists (chapters land one by one)."""
    import importlib

    try:
        mod = importlib.import_module(f".{modname}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{modname}":
            raise
        return
    for n in names:
        globals()[n] = getattr(mod, n)
        __all__.append(n)


_optional("logistic", ["LogisticRegression"])
_optional("mlp", ["MLP"])
_optional("gradcheck", ["numerical_gradient", "relative_error"])
_optional("rbm", ["RBM", "GaussianBernoulliRBM"])
_optional("dbn", ["DBN"])
