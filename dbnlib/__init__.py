"""dbnlib: the one library behind the Deep Belief Networks course.

Modules follow the book: ``backend`` (NumPy or CuPy), ``numerics``,
``logistic`` (chapter 1), ``mlp`` and ``gradcheck`` (chapters 2-4), ``rbm``,
``training`` and ``ais`` (chapters 5-6), ``dbn`` (chapter 7); then the helpers
``datasets``, ``plotting``, ``widgets`` and ``grading``. ``base`` holds what
every model shares (parameters, saving, seeds, divergence, return types) and
states those rules once; ``load`` reads any saved model.
"""

from . import backend, numerics
from .backend import RNG, asarray, backend_info, get_backend, set_backend, to_numpy, xp
from .numerics import (
    binary_cross_entropy,
    categorical_cross_entropy,
    log_softmax,
    sigmoid,
    softmax,
)
from .base import NotFittedError, load
from ._validation import TrainingDiverged
from .logistic import LogisticRegression
from .mlp import MLP
from .gradcheck import numerical_gradient, relative_error
from .rbm import RBM
from .gbrbm import GaussianBernoulliRBM
from .dbn import DBN

__version__ = "0.1.0"

__all__ = [
    "DBN",
    "GaussianBernoulliRBM",
    "LogisticRegression",
    "MLP",
    "NotFittedError",
    "RBM",
    "RNG",
    "TrainingDiverged",
    "asarray",
    "backend",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "get_backend",
    "load",
    "log_softmax",
    "numerical_gradient",
    "relative_error",
    "set_backend",
    "sigmoid",
    "softmax",
    "to_numpy",
    "xp",
]
