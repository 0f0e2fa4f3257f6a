"""The Gaussian-Bernoulli RBM: real-valued visible units of unit variance.

Chapter 5's RBM with the visible term of the energy made quadratic,

    E(v, h) = 0.5 ||v - a||^2 - b.h - v.W.h,

so p(v | h) = N(a + W h, I), p(h_j = 1 | v) = sigmoid(b_j + v.W_j), and the
free energy is F(v) = 0.5 ||v - a||^2 - sum_j softplus(b_j + v.W_j). Training
(``dbnlib.training``), saving and monitoring are the binary RBM's; this file
only swaps the visible units, and ``dbnlib.rbm`` does not import it back. It
leaves out learned variances (the data must be standardised: each column mean
0 and variance 1) and AIS for this model.
"""

import math

from .backend import xp
from .rbm import MAX_EXACT_UNITS, RBM

__all__ = ["GaussianBernoulliRBM"]


class GaussianBernoulliRBM(RBM):
    """An RBM with Gaussian visible units (variance 1) and binary hidden units.

    Standardise the data first (e.g. ``sklearn.preprocessing.StandardScaler``):
    the model fixes every visible variance at 1. The parameters and attributes
    are those of ``RBM``, with a smaller default learning rate, since the
    visible values are unbounded; the first fit sets a to the data's column
    means. ``set_weights``, ``fit``, ``save`` and the rest behave as for
    ``RBM``. ``log_partition`` is exact for up to 20 hidden units:

        log Z = log sum_h exp(b.h + 0.5 ||a + W h||^2 - 0.5 ||a||^2) + (V / 2) log(2 pi).

    The pseudo-log-likelihood does not apply (``history_`` holds None there).
    """

    _binary_visible = False

    def __init__(self, n_visible, n_hidden, *, learning_rate=0.005, k=1, persistent=False, momentum=(0.5, 0.9),
                 momentum_switch_epoch=5, weight_decay=1e-4, batch_size=100, n_epochs=10, sparsity_target=None,
                 sparsity_cost=0.0, dtype="float32", random_state=None, warm_start=False, verbose=False):  # fmt: skip
        super().__init__(
            n_visible, n_hidden, learning_rate=learning_rate, k=k, persistent=persistent, momentum=momentum,
            momentum_switch_epoch=momentum_switch_epoch, weight_decay=weight_decay, batch_size=batch_size,
            n_epochs=n_epochs, sparsity_target=sparsity_target, sparsity_cost=sparsity_cost, dtype=dtype,
            random_state=random_state, warm_start=warm_start, verbose=verbose)  # fmt: skip

    def energy(self, v, h):
        """E(v, h) = 0.5 ||v - a||^2 - b.h - v.W.h for each row pair; shape (n_samples,)."""
        return super().energy(v, h)

    def free_energy(self, v):
        """F(v) = 0.5 ||v - a||^2 - sum_j softplus(b_j + v.W_j); shape (n_samples,).

        exp(-F(v)) is a density in v: integrating it gives Z.
        """
        return super().free_energy(v)

    def prob_v_given_h(self, h):
        """The mean of p(v | h) = N(a + W h, I); shape (n_samples, n_visible)."""
        return super().prob_v_given_h(h)

    def log_partition(self, method="exact", **kwargs):
        """log Z = log sum_h integral exp(-E(v, h)) dv, exact by enumerating the hidden layer.

        ``method="ais"`` raises ``NotImplementedError``: dbnlib's AIS assumes binary visible units.
        """
        if method == "ais":
            raise NotImplementedError(
                f"{self._name}.log_partition: dbnlib has no AIS for Gaussian visible units; "
                f"use method='exact' with at most {MAX_EXACT_UNITS} hidden units"
            )
        return super().log_partition(method, **kwargs)

    def pseudo_log_likelihood(self, X, random_state=0):
        """Not defined for real-valued visible units."""
        raise NotImplementedError(f"{self._name}.pseudo_log_likelihood: needs binary visible units")

    # --- the visible units: the only place this model differs from RBM
    def _visible_energy(self, v):
        d = v - self.a
        return 0.5 * (d * d).sum(axis=1)

    def _log_marginal_h(self, h):
        """log integral exp(-E(v, h)) dv = b.h + 0.5 ||a + W h||^2 - 0.5 ||a||^2 + (V / 2) log(2 pi)."""
        mu = h @ self.W.T + self.a  # E[v | h]
        const = 0.5 * self.n_visible * math.log(2 * math.pi) - 0.5 * (self.a @ self.a)
        return h @ self.b + 0.5 * (mu * mu).sum(axis=1) + const

    def _visible_activation(self, x):
        return x  # E[v | h] = a + W h: no squashing

    def _draw_visible_noise(self, rng, out):
        out[...] = rng.normal(out.shape, dtype=out.dtype)

    def _sample_visible(self, mean, noise, out):
        return xp().add(mean, noise, out=out)

    def _init_visible_bias(self, X):
        self.a[...] = X.mean(axis=0)

    def _enumerated_layer(self):
        if self.n_hidden > MAX_EXACT_UNITS:
            raise ValueError(
                f"{self._name}: exact enumeration needs at most {MAX_EXACT_UNITS} hidden units, "
                f"the model has n_hidden={self.n_hidden}"
            )
        return "hidden"
