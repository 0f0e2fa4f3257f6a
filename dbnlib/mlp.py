"""The multilayer perceptron and backpropagation (chapters 2-4).

An ``MLP`` is a stack of affine maps and nonlinearities trained by minibatch
stochastic gradient descent, with the gradient computed by backpropagation
exactly as chapter 3 derives it: the output delta (3.1), the recursion that
carries it down one layer (3.2), and the weight and bias gradients (3.3),
(3.4). Chapter 4 uses ``layer_gradient_norms`` to watch gradients vanish in
deep sigmoid nets, and chapter 7 starts an MLP from a pre-trained DBN by
sharing the RBMs' arrays in ``params``.

Notation (as in the RBM chapters). The input is ``v = h_0 = X``; layer
``l = 1..L`` maps ``h_{l-1}`` to ``h_l = f(z_l)`` with
``z_l = h_{l-1} W_l + b_l``. Rows are samples, so ``W_l`` has shape
``(n_in, n_out)``, the orientation of the RBM's ``W`` of shape
``(n_visible, n_hidden)``. The code counts layers from 0: ``params[l]`` is the
book's ``(W_{l+1}, b_{l+1})`` and ``hs[l]`` is the book's ``h_l``.

The shared model interface (parameters, fitting twice, saving, divergence,
return types) is described once in ``dbnlib.base``. One regulariser is
built in, dropout (Hinton et al. 2012; Srivastava et al. 2014), off by
default: chapter 7 tries it when it chooses the DBN's fine-tuning recipe
(``tools/experiments/ch07_recipe.py``), and on MNIST-5k's validation digits
it did not lower the pre-trained net's error (3.17 % with 50 % of the
hidden units dropped, 3.03 % with 20 % of the pixels dropped as well, 3.00 %
without; means over three seeds at each one's best number of epochs), so the
DBN's default leaves it off. Left out on purpose: batch normalisation, Adam
and other adaptive learning rates, learning-rate schedules and early
stopping. The three output/loss pairs are the matched ones, for which the
output delta is simply ``(y_hat - t) / N``.

Dropout, as implemented here ("inverted" dropout). In every training step,
each hidden unit of each example is kept with probability ``1 - dropout``
(each input unit with probability ``1 - input_dropout``), independently, and
a kept unit's value is divided by its keep probability:
``h_l <- h_l * m_l`` with ``m_l = keep / (1 - p)``. So the expected input of
every unit is what it is in the full network, and prediction uses the full
network with its weights as they are (the original papers instead multiply
the outgoing weights by ``1 - p`` at test time; the two are the same net).
Backpropagation goes through the same masks: the delta reaching a dropped
unit is zero and a kept unit's is multiplied by ``1 / (1 - p)``.
"""

import math

import numpy as np

from ._validation import check_bool, check_choice, check_int, check_labels, check_real, check_X
from .backend import to_numpy, xp
from .base import SupervisedModel, check_random_state
from .numerics import log_softmax, one_hot, sigmoid, softmax, softplus

__all__ = ["MLP"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu")
_OUTPUTS = ("sigmoid", "softmax", "identity")
_INITS = ("small", "glorot", "he")
_DTYPES = ("float32", "float64")


class MLP(SupervisedModel):
    """A feed-forward network trained by backpropagation and minibatch SGD.

    Follows the shared interface of ``dbnlib.base``: ``fit`` starts from fresh
    weights drawn from ``random_state`` (``warm_start=True`` or
    ``partial_fit`` continue from ``params``), a diverging run restores the
    last good parameters and raises ``TrainingDiverged``, and predictions are
    arrays on the active backend.

    Parameters
    ----------
    layer_sizes : sequence of int
        Input size, hidden sizes, output size, e.g. ``(64, 30, 10)``; at least two.
    activation : {"sigmoid", "tanh", "relu"}
        Nonlinearity of every hidden layer.
    output : {"softmax", "sigmoid", "identity"}
        ``softmax``: K >= 2 classes 0..K-1, categorical cross-entropy.
        ``sigmoid``: k >= 1 independent sigmoid units with binary
        cross-entropy summed over units. One unit: labels 0/1 of shape (n,).
        Several units (multi-label, autoencoders): targets of shape (n, k),
        0/1 labels or probabilities in [0, 1].
        ``identity``: regression, loss ``0.5 * mean_n sum_k (y_hat - t)**2``.
    init : {"small", "glorot", "he"}
        ``small``: weights ~ N(0, 0.01**2). ``glorot``: weights ~ U(-r, r) with
        ``r = sqrt(6 / (n_in + n_out))``. ``he``: weights ~ N(0, 2 / n_in), for
        ReLU nets. Biases start at zero in all three.
    learning_rate, momentum, weight_decay : float
        Step size eta > 0, momentum mu in [0, 1), and L2 strength lambda >= 0 (see ``loss``).
    batch_size, n_epochs : int
    dropout : float in [0, 1)
        Probability that a hidden unit is dropped from a training step (see
        the module docstring); 0 turns dropout off. Prediction, ``loss``,
        ``gradients`` and ``score`` always use the full network.
    input_dropout : float in [0, 1)
        The same for the input units (Hinton et al. 2012 used 0.2 for the
        pixels and 0.5 for the hidden units).
    dtype : {"float64", "float32"}
        Dtype of the parameters and of every array in training.
    random_state : int, None, numpy.random.Generator or RNG
        Seeds the initial weights and the minibatch shuffling.
    warm_start : bool
        ``fit`` trains from the current ``params`` instead of fresh weights.
    verbose : bool
        A progress bar over epochs.

    Attributes
    ----------
    params : list of (W, b)
        The live parameters, ``W`` of shape (n_in, n_out) and ``b`` of shape
        (n_out,), input side first. They exist from construction on; put
        values in with ``set_weights`` (or share arrays, as ``DBN.to_mlp`` does).
    loss_curve_ : list of float
        Per epoch, the data term (cross-entropy or squared error): the mean of
        the minibatch values, each taken before its update as scikit-learn
        does, weighted by batch size. With dropout these are the values of
        the thinned networks that were trained, higher than the full net's.
    penalty_curve_ : list of float
        Per epoch, the penalty ``0.5 * weight_decay * sum_l ||W_l||^2``
        averaged the same way; the objective is their sum.
    history_ : dict of lists
        ``"epoch"``, ``"loss"``, ``"penalty"``; the curves are views of it.
    """

    _STATE = ("history_",)
    _STRUCTURAL = ("layer_sizes", "dtype", "init", "random_state")

    def __init__(self, layer_sizes, activation="sigmoid", output="softmax", *, init="glorot",
                 learning_rate=0.5, momentum=0.9, weight_decay=0.0, batch_size=32, n_epochs=50, dropout=0.0,
                 input_dropout=0.0, dtype="float64", random_state=None, warm_start=False, verbose=False):  # fmt: skip
        try:
            sizes = tuple(layer_sizes)
        except TypeError as exc:
            raise TypeError(f"MLP: layer_sizes must be a sequence of integers, got {layer_sizes!r}") from exc
        sizes = tuple(check_int(s, "layer_sizes", "MLP", low=1) for s in sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: layer_sizes needs at least 2 positive sizes (input, output), got {sizes}")
        self.layer_sizes = sizes
        self._set_hyperparameters(layer_sizes=sizes, activation=activation, output=output, init=init,
                                  learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay,
                                  batch_size=batch_size, n_epochs=n_epochs, dropout=dropout,
                                  input_dropout=input_dropout, dtype=dtype, random_state=random_state,
                                  warm_start=warm_start, verbose=verbose)  # fmt: skip
        m = xp()
        self.params = [(m.empty((n_in, n_out), dtype=self.dtype), m.empty(n_out, dtype=self.dtype))
                       for n_in, n_out in zip(sizes[:-1], sizes[1:])]  # fmt: skip
        self._velocity = None
        self.reset()

    def _set_hyperparameters(self, layer_sizes, activation, output, init, learning_rate, momentum, weight_decay,
                             batch_size, n_epochs, dropout, input_dropout, dtype, random_state, warm_start,
                             verbose):  # fmt: skip
        w = "MLP"
        self.activation = check_choice(activation, "activation", w, _ACTIVATIONS)
        self.output = check_choice(output, "output", w, _OUTPUTS)
        self.init = check_choice(init, "init", w, _INITS)
        self.dtype = check_choice(str(dtype), "dtype", w, _DTYPES)
        k = layer_sizes[-1]
        if output == "softmax" and k < 2:
            raise ValueError(f"MLP: output='softmax' needs >= 2 output units, got layer_sizes[-1]={k}; "
                             "use output='sigmoid' for two classes with one unit")  # fmt: skip
        self.learning_rate = check_real(learning_rate, "learning_rate", w, low=0, low_open=True)
        self.momentum = check_real(momentum, "momentum", w, low=0, high=1, high_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", w, low=0)
        self.batch_size = check_int(batch_size, "batch_size", w, low=1)
        self.n_epochs = check_int(n_epochs, "n_epochs", w, low=0)
        self.dropout = check_real(dropout, "dropout", w, low=0, high=1, high_open=True)
        self.input_dropout = check_real(input_dropout, "input_dropout", w, low=0, high=1, high_open=True)
        self.random_state = check_random_state(random_state, "random_state", w)
        self.warm_start = check_bool(warm_start, "warm_start", w)
        self.verbose = check_bool(verbose, "verbose", w)

    def reset(self):
        """Draw fresh initial weights into ``params`` in place; biases to zero.

        The generator is rebuilt from ``random_state``, so with an integer seed
        ``reset`` gives back exactly the weights the model was built with.
        Arrays shared with another model stay shared. ``fit`` calls it unless
        ``warm_start`` is set.
        """
        self._rng = self._make_rng()
        for W, b in self.params:  # on_host: the same random_state gives the same weights on NumPy and CuPy
            n_in, n_out = W.shape
            if self.init == "small":
                W[...] = self._rng.normal(W.shape, scale=0.01, dtype=W.dtype.type, on_host=True)
            elif self.init == "he":
                W[...] = self._rng.normal(W.shape, scale=math.sqrt(2.0 / n_in), dtype=W.dtype.type, on_host=True)
            else:
                r = np.sqrt(6.0 / (n_in + n_out))
                W[...] = self._rng.random(W.shape, dtype=W.dtype.type, on_host=True)
                W *= 2 * r
                W -= r
            b[...] = 0
        self.history_ = {"epoch": [], "loss": [], "penalty": []}
        self._velocity = None
        return self

    @property
    def n_weights(self):
        """Number of weights, biases not counted (1024-500-10 has 517,000)."""
        return sum(int(W.size) for W, _ in self.params)

    @property
    def n_parameters(self):
        """Number of weights plus biases (1024-500-10 has 517,510)."""
        return sum(int(W.size + b.size) for W, b in self.params)

    def _is_fitted(self):
        return True  # params exist from construction on

    # --- the maths (private: inputs are trusted) ------------------------
    def _activate(self, z):
        """h = f(z) for a hidden layer, in place."""
        m = xp()
        if self.activation == "sigmoid":
            return sigmoid(z, out=z)
        if self.activation == "tanh":
            return m.tanh(z, out=z)
        return m.maximum(z, 0, out=z)

    def _times_fprime(self, g, h):
        """g *= f'(z), with f'(z) written through h = f(z), in place."""
        if self.activation == "sigmoid":
            g *= h
            g *= 1 - h          # sigma'(z) = sigma(z) (1 - sigma(z))
        elif self.activation == "tanh":
            g *= 1 - h * h      # tanh'(z) = 1 - tanh(z)**2
        else:
            g *= h > 0          # relu'(z) = 1 where z > 0, else 0
        return g

    def _output_fn(self, Z):
        """y_hat from the output pre-activation Z (sigmoid and identity in place)."""
        if self.output == "sigmoid":
            return sigmoid(Z, out=Z)
        if self.output == "softmax":
            return softmax(Z, axis=1)
        return Z

    def _forward(self, X, masks=None):
        """Return ([h_0 = X, h_1, ..., h_{L-1}], z_L), z_L of shape (n, n_out).

        With ``masks`` (dropout, from ``_draw_masks``), ``hs[l]`` is the layer's
        thinned output ``h_l * masks[l]`` where ``masks[l]`` is not None.
        """
        hs = [X if masks is None or masks[0] is None else X * masks[0]]
        for l, (W, b) in enumerate(self.params):
            z = hs[-1] @ W          # z_{l+1} = h_l W_{l+1} + b_{l+1}
            z += b
            if l == len(self.params) - 1:
                return hs, z
            h = self._activate(z)
            if masks is not None and masks[l + 1] is not None:
                h *= masks[l + 1]   # dropout: h_l <- h_l * m_l
            hs.append(h)

    def _draw_masks(self, n):
        """One dropout mask per layer input (None where its rate is 0): 0 or 1 / (1 - p), shape (n, size)."""
        rates = [self.input_dropout] + [self.dropout] * (len(self.params) - 1)
        masks = []
        for rate, size in zip(rates, self.layer_sizes[:-1]):
            if not rate:
                masks.append(None)
                continue
            m = self._rng.random((n, size), dtype=np.dtype(self.dtype).type) >= rate
            m = m.astype(self.dtype)
            m *= 1.0 / (1.0 - rate)
            masks.append(m)
        return masks

    def _data_term(self, Z, T):
        """Mean over rows of the loss, from the output pre-activation (0-d device array)."""
        m = xp()
        if self.output == "sigmoid":
            per = softplus(Z) - T * Z                # -[t log y_hat + (1-t) log(1-y_hat)], summed over units
        elif self.output == "softmax":
            per = -(T * log_softmax(Z, axis=1))      # -sum_k t_k log y_hat_k
        else:
            per = Z - T
            per *= per
            per *= 0.5                               # 0.5 * sum_k (y_hat_k - t_k)^2
        return m.sum(per) / Z.shape[0]

    def _penalty(self):
        """0.5 * weight_decay * sum_l ||W_l||^2 as a 0-d device array (0 when weight_decay is 0)."""
        m = xp()
        if not self.weight_decay:
            return m.zeros((), dtype=self.dtype)
        return 0.5 * self.weight_decay * sum(m.vdot(W, W) for W, _ in self.params)

    def _backward(self, hs, Z, T, grads, masks=None):
        """Backpropagation, chapter 3: write dJ/dW_l, dJ/db_l into ``grads``.

        With dropout ``masks`` (those given to ``_forward``), the delta reaching
        a hidden layer is multiplied by its mask before f'(z).
        """
        m = xp()
        delta = self._output_fn(Z)                    # (3.1) delta_L = (y_hat - t) / N
        delta -= T
        delta /= Z.shape[0]
        for l in range(len(self.params) - 1, -1, -1):  # code l is the book's l + 1
            W, _ = self.params[l]
            dW, db = grads[l]
            m.matmul(hs[l].T, delta, out=dW)          # (3.3) dJ/dW_l = h_{l-1}^T delta_l
            m.sum(delta, axis=0, out=db)              # (3.4) dJ/db_l = sum_n delta_l
            if self.weight_decay:
                dW += self.weight_decay * W           # d/dW of 0.5 * weight_decay * ||W||^2
            if l > 0:                                 # (3.2) delta_{l-1} = (delta_l W_l^T) * f'(z_{l-1})
                g, h = delta @ W.T, hs[l]
                mask = None if masks is None else masks[l]
                if mask is not None:                  # dropout: hs[l] = f(z_l) * m_l, m_l in {0, 1 / (1 - p)}
                    g *= mask                         # no delta reaches a dropped unit
                    h = h / xp().where(mask > 0, mask, 1)  # f(z_l) where kept (g is 0 elsewhere)
                delta = self._times_fprime(g, h)
        return grads

    def _step(self, grads, velocity):
        """One SGD step: u <- mu u - eta g; theta <- theta + u (u the velocity; g is overwritten)."""
        for l, ((W, b), (dW, db)) in enumerate(zip(self.params, grads)):
            for i, (p, g) in enumerate(((W, dW), (b, db))):
                g *= self.learning_rate
                if velocity is None:
                    p -= g
                else:
                    u = velocity[l][i]
                    u *= self.momentum
                    u -= g
                    p += u

    def _targets(self, y, where, n):
        """Targets T of shape (n, n_out): 0/1 columns, one-hot rows, or real values."""
        m, k = xp(), self.layer_sizes[-1]
        if self.output == "softmax":
            return one_hot(check_labels(y, where, n, classes=np.arange(k)), k, dtype=self.dtype)
        if self.output == "sigmoid" and k == 1:
            y = check_labels(y, where, n, classes=(0, 1))
            return m.asarray(y.reshape(-1, 1), dtype=self.dtype)
        try:
            T = m.asarray(y, dtype=self.dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: y must be an array of numbers, got {type(y).__name__}") from exc
        T = T.reshape(-1, 1) if T.ndim == 1 else T
        if T.shape != (n, k):
            expected = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
            raise ValueError(f"{where}: y must have shape {expected} for output={self.output!r} with "
                             f"{k} output units, got {tuple(m.asarray(y).shape)}")  # fmt: skip
        finite, lo, hi = (float(s) for s in to_numpy(m.stack([m.isfinite(T).all().astype(T.dtype), T.min(),
                                                               T.max()])))  # fmt: skip
        if not finite:
            raise ValueError(f"{where}: y contains NaN or inf; clean the targets first")
        if self.output == "sigmoid" and (lo < 0 or hi > 1):
            raise ValueError(f"{where}: y must hold 0/1 labels or probabilities in [0, 1] for output='sigmoid', "
                             f"got values in [{lo:g}, {hi:g}]")  # fmt: skip
        return T

    def _check_X(self, X, where):
        return check_X(X, where, n_features=self.layer_sizes[0], dtype=self.dtype)

    # --- public API ------------------------------------------------------
    def forward(self, X):
        """Every layer's activations for a batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])

        Returns
        -------
        list of arrays
            ``[X, h_1, ..., h_L]``, one per entry of ``layer_sizes``, ``h_l`` of
            shape (n_samples, layer_sizes[l]). ``h_L`` holds probabilities for
            the sigmoid and softmax outputs, predicted values for identity.
        """
        hs, Z = self._forward(self._check_X(X, "MLP.forward"))
        return hs + [self._output_fn(Z)]

    def loss(self, X, y):
        """The training objective J at the current parameters (a float).

        ``J = (1/N) sum_n loss(y_hat_n, t_n) + 0.5 * weight_decay * sum_l sum_ij W_l[i, j]**2``,
        computed from the output pre-activation so it stays finite. Biases are
        not penalised. ``loss_terms`` gives the two terms apart.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples,), or (n_samples, n_out) for identity and multi-unit sigmoid
        """
        return sum(self._loss_terms(X, y, "MLP.loss"))

    def loss_terms(self, X, y):
        """``(data, penalty)``: the mean loss over rows and ``0.5 * weight_decay * sum_l ||W_l||^2``, floats."""
        return self._loss_terms(X, y, "MLP.loss_terms")

    def _loss_terms(self, X, y, where):
        X = self._check_X(X, where)
        T = self._targets(y, where, X.shape[0])
        _, Z = self._forward(X)
        data, penalty = to_numpy(xp().stack([self._data_term(Z, T), xp().asarray(self._penalty(), dtype=Z.dtype)]))
        return float(data), float(penalty)

    def gradients(self, X, y):
        """dJ/dW_l and dJ/db_l of ``loss(X, y)`` by backpropagation (chapter 3).

        Equations (3.1)-(3.4): output delta ``delta_L = (y_hat - t) / N``, the
        recursion ``delta_l = (delta_{l+1} W_{l+1}^T) * f'(z_l)``, the weight
        gradient ``h_{l-1}^T delta_l`` (plus ``weight_decay * W_l``) and the bias
        gradient ``sum_n delta_l``.

        Returns
        -------
        list of (dW, db)
            Aligned with ``params``: same shapes, input side first.
        """
        X = self._check_X(X, "MLP.gradients")
        T = self._targets(y, "MLP.gradients", X.shape[0])
        m = xp()
        grads = [(m.empty_like(W), m.empty_like(b)) for W, b in self.params]
        hs, Z = self._forward(X)
        return self._backward(hs, Z, T, grads)

    def layer_gradient_norms(self, X, y):
        """Frobenius norm of each dJ/dW_l, input side first (chapter 4).

        Returns
        -------
        array of shape (n_layers,), on the active backend
        """
        m = xp()
        return m.stack([m.linalg.norm(dW) for dW, _ in self.gradients(X, y)])

    def set_weights(self, layer, W=None, b=None):
        """Copy values (NumPy or device arrays) into layer ``layer``'s ``(W, b)``, in place.

        Parameters
        ----------
        layer : int
            Index into ``params`` (0 is the input side; negative counts from the output).
        W : array-like of shape params[layer][0].shape, optional
        b : array-like of shape params[layer][1].shape, optional

        Shapes are checked, values converted to the model's dtype on the active
        backend; arrays shared with another model (a DBN's RBMs) stay shared.
        Returns self.
        """
        layer = check_int(layer, "layer", "MLP.set_weights")
        if not -len(self.params) <= layer < len(self.params):
            raise ValueError(f"MLP.set_weights: layer must be in [{-len(self.params)}, {len(self.params) - 1}], "
                             f"got {layer}")  # fmt: skip
        W_l, b_l = self.params[layer]
        if W is not None:
            self._copy_into(W_l, W, "W", "MLP.set_weights")
        if b is not None:
            self._copy_into(b_l, b, "b", "MLP.set_weights")
        return self

    def fit(self, X, y):
        """Train by minibatch SGD for ``n_epochs`` epochs, from fresh weights (``reset``), or from
        the current ``params`` when ``warm_start`` is set.

        Each epoch shuffles the rows and takes one step per minibatch; the
        velocity starts at zero. If the loss becomes NaN, inf or explodes (see
        ``dbnlib.base``), ``params`` are put back to their values after the
        last good epoch and ``TrainingDiverged`` is raised.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples,), or (n_samples, n_out) for identity and multi-unit sigmoid

        Returns
        -------
        self
        """
        X = self._check_X(X, "MLP.fit")
        T = self._targets(y, "MLP.fit", X.shape[0])
        if not self.warm_start:
            self.reset()
        self._velocity = None
        return self._train(X, T, self.n_epochs, "MLP.fit")

    def partial_fit(self, X, y):
        """One more epoch from the current ``params``; the velocity carries over between calls."""
        X = self._check_X(X, "MLP.partial_fit")
        T = self._targets(y, "MLP.partial_fit", X.shape[0])
        return self._train(X, T, 1, "MLP.partial_fit")

    def _train(self, X, T, n_epochs, where):
        """The SGD loop; one host sync per epoch (the curves and the divergence check)."""
        m = xp()
        n = X.shape[0]
        grads = [(m.empty_like(W), m.empty_like(b)) for W, b in self.params]
        if self.momentum and self._velocity is None:
            self._velocity = [(m.zeros_like(W), m.zeros_like(b)) for W, b in self.params]
        velocity = self._velocity if self.momentum else None
        snapshot = self._snapshot()
        reference = None
        dropping = bool(self.dropout or self.input_dropout)
        epoch0 = self.history_["epoch"][-1] if self.history_["epoch"] else 0
        # Overflow on a diverging run is caught below, once per epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            bar = self._progress(range(epoch0 + 1, epoch0 + n_epochs + 1), desc="MLP")
            for epoch in bar:
                order = m.asarray(self._rng.permutation(n))
                data = penalty = first = None
                for start in range(0, n, self.batch_size):
                    rows = order[start:start + self.batch_size]
                    Tb = T[rows]
                    masks = self._draw_masks(rows.shape[0]) if dropping else None
                    hs, Z = self._forward(X[rows], masks)
                    d, p = self._data_term(Z, Tb) * rows.shape[0], self._penalty() * rows.shape[0]
                    data, penalty = (d, p) if data is None else (data + d, penalty + p)
                    if first is None:
                        first = (d + p) / rows.shape[0]  # the objective at the epoch's starting parameters
                    self._step(self._backward(hs, Z, Tb, grads, masks), velocity)
                finite = m.stack([m.isfinite(W).all() for W, _ in self.params]).all()
                values = m.stack([m.asarray(v, dtype=m.float64) for v in (data, penalty, finite, first)])
                data, penalty, finite, first = (float(v) for v in to_numpy(values))  # the one sync
                data, penalty = data / n, penalty / n
                reference = first if reference is None else reference
                if not finite or self._exploded(data + penalty, reference):
                    detail = (f"loss {data + penalty:.4g}, started at {reference:.4g}" if finite
                              else "the weights hold NaN or inf")  # fmt: skip
                    self._diverged(where, epoch, snapshot, detail)
                snapshot = self._snapshot()
                self.history_["epoch"].append(epoch)
                self.history_["loss"].append(data)
                self.history_["penalty"].append(penalty)
                bar.set_postfix(loss=f"{data + penalty:.4g}")
        return self

    def _parameter_arrays(self):
        return [x for W, b in self.params for x in (W, b)]

    def _y_hat(self, X, where):
        """Validate X and return the output layer h_L, shape (n_samples, n_out)."""
        hs, Z = self._forward(self._check_X(X, where))
        return self._output_fn(Z)

    def _decide(self, Y):
        """Labels (argmax, or p >= 0.5 per unit) from output probabilities; values for identity."""
        if self.output == "softmax":
            return Y.argmax(axis=1)
        if self.output == "sigmoid":
            labels = (Y >= 0.5).astype(np.int64)
            return labels[:, 0] if Y.shape[1] == 1 else labels
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def predict_proba(self, X):
        """Probabilities on the active backend; classification only.

        Softmax: shape (n_samples, n_classes). Sigmoid with one unit: two
        columns P(y=0), P(y=1). Sigmoid with k > 1 units: shape (n_samples, k),
        P(y_j = 1) per unit (multi-label, as scikit-learn's MLPClassifier).
        """
        if self.output == "identity":
            raise ValueError("MLP.predict_proba: output='identity' is regression, "
                             "there are no probabilities; use predict")
        P = self._y_hat(X, "MLP.predict_proba")
        if self.output == "sigmoid" and P.shape[1] == 1:
            return xp().hstack([1 - P, P])
        return P

    def predict(self, X):
        """Predictions on the active backend: labels of shape (n_samples,) for softmax and
        one-unit sigmoid; 0/1 of shape (n_samples, k) for k sigmoid units; for identity,
        values of shape (n_samples,) with one output unit, else (n_samples, n_out)."""
        return self._decide(self._y_hat(X, "MLP.predict"))

    def score(self, X, y):
        """Accuracy for classification (exact match of all k labels for k sigmoid units, as
        scikit-learn's multi-label accuracy); R^2 for identity (mean over outputs). A float.

        ``R^2 = 1 - sum_n (t - y_hat)^2 / sum_n (t - mean(t))^2`` per output
        column, then averaged, as ``sklearn.metrics.r2_score`` does.
        """
        m = xp()
        Y = self._y_hat(X, "MLP.score")
        if self.output == "softmax" or (self.output == "sigmoid" and Y.shape[1] == 1):
            y = check_labels(y, "MLP.score", Y.shape[0])
            return float(m.mean(self._decide(Y) == m.asarray(y)))
        T = self._targets(y, "MLP.score", Y.shape[0])
        if self.output == "sigmoid":
            return float(m.mean(((Y >= 0.5) == (T >= 0.5)).all(axis=1)))
        R = T - Y
        ss_res = m.sum(R * R, axis=0)
        ss_tot = m.sum((T - T.mean(axis=0)) ** 2, axis=0)
        return float(m.mean(1 - ss_res / ss_tot))

    # --- saving ------------------------------------------------------------
    def _state(self):
        meta, arrays = super()._state()
        for l, (W, b) in enumerate(self.params):
            arrays[f"W{l}"], arrays[f"b{l}"] = W, b
        meta["rng_state"] = self._rng.get_state()
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        model = super()._from_state(meta, arrays)
        for l in range(len(model.params)):
            model.set_weights(l, W=arrays[f"W{l}"], b=arrays[f"b{l}"])
        model._rng.set_state(meta["rng_state"])
        return model
