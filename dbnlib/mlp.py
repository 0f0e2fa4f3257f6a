"""The multilayer perceptron and backpropagation (chapters 2-4).

An ``MLP`` is a stack of affine maps and nonlinearities trained by minibatch
stochastic gradient descent, with the gradient computed by backpropagation
exactly as chapter 3 derives it: the output delta (3.1), the recursion that
carries it down one layer (3.2), and the weight and bias gradients (3.3),
(3.4). Chapter 4 uses ``layer_gradient_norms`` to watch gradients vanish in
deep sigmoid nets, and chapter 7 starts an MLP from a pre-trained DBN by
writing into ``params`` in place.

Notation. Layer ``l = 1..L`` maps ``a_{l-1}`` to ``a_l = f(z_l)`` with
``z_l = a_{l-1} W_l + b_l``; ``a_0 = X``. Rows are samples, so ``W_l`` has
shape ``(n_in, n_out)``, the same orientation as the RBM's ``W`` of shape
``(n_visible, n_hidden)``. The code counts layers from 0: ``params[l]`` is the
book's ``(W_{l+1}, b_{l+1})`` and ``acts[l]`` is the book's ``a_l``.

Left out on purpose: dropout, batch normalisation, Adam and other adaptive
learning rates, learning-rate schedules, early stopping and partial_fit. The
three output/loss pairs are the matched ones, for which the output delta is
simply ``(y_hat - t) / N``.
"""

import numpy as np

from ._validation import TrainingDiverged, check_finite_loss, check_labels, check_X
from .backend import RNG, to_numpy, xp
from .numerics import log_softmax, one_hot, sigmoid, softmax, softplus

__all__ = ["MLP"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu")
_OUTPUTS = ("sigmoid", "softmax", "identity")
_INITS = ("small", "glorot")
_DTYPES = ("float32", "float64")


def _choice(name, value, valid):
    if value not in valid:
        raise ValueError(f"MLP: {name} must be one of {valid}, got {value!r}")
    return value


class MLP:
    """A feed-forward network trained by backpropagation and minibatch SGD.

    Parameters
    ----------
    layer_sizes : sequence of int
        Input size, hidden sizes, output size, e.g. ``(64, 30, 10)``; at least two.
    activation : {"sigmoid", "tanh", "relu"}
        Nonlinearity of every hidden layer.
    output : {"softmax", "sigmoid", "identity"}
        ``softmax``: K >= 2 classes 0..K-1, categorical cross-entropy.
        ``sigmoid``: one unit, labels 0/1, binary cross-entropy.
        ``identity``: regression, loss ``0.5 * mean_n sum_k (y_hat - t)**2``.
    init : {"small", "glorot"}
        ``small``: weights ~ N(0, 0.01**2). ``glorot``: weights ~ U(-r, r) with
        ``r = sqrt(6 / (n_in + n_out))``. Biases start at zero in both.
    learning_rate, momentum, l2 : float
        Step size eta, momentum mu in [0, 1), and L2 strength lambda (see ``loss``).
    batch_size, n_epochs : int
    dtype : {"float64", "float32"}
        Dtype of the parameters and of every array in training.
    random_state : int, None or RNG
        Seeds the initial weights and the minibatch shuffling.
    verbose : bool
        Print the training loss after every epoch.

    Attributes
    ----------
    params : list of (W, b)
        The live parameters, ``W`` of shape (n_in, n_out) and ``b`` of shape
        (n_out,), input side first. They exist from construction on; writing
        into them (``mlp.params[0][0][...] = W``) changes the model, and
        ``fit`` trains from whatever they hold.
    loss_curve_ : list of float
        Per epoch, the mean of the minibatch objectives (each taken before its
        update, as scikit-learn does), weighted by batch size.
    """

    def __init__(self, layer_sizes, activation="sigmoid", output="softmax", *, init="small",
                 learning_rate=0.1, momentum=0.0, l2=0.0, batch_size=32, n_epochs=20,
                 dtype="float64", random_state=None, verbose=False):
        sizes = tuple(int(s) for s in layer_sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP: layer_sizes needs at least 2 positive sizes (input, output), got {sizes}")
        self.activation = _choice("activation", activation, _ACTIVATIONS)
        self.output = _choice("output", output, _OUTPUTS)
        self.init = _choice("init", init, _INITS)
        self.dtype = _choice("dtype", dtype, _DTYPES)
        if output == "sigmoid" and sizes[-1] != 1:
            raise ValueError(f"MLP: output='sigmoid' needs 1 output unit, got layer_sizes[-1]={sizes[-1]}")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError(f"MLP: output='softmax' needs >= 2 output units, got layer_sizes[-1]={sizes[-1]}; "
                             "use output='sigmoid' for two classes with one unit")
        if not learning_rate > 0 or not 0 <= momentum < 1 or not l2 >= 0:
            raise ValueError(f"MLP: need learning_rate > 0, 0 <= momentum < 1 and l2 >= 0, got "
                             f"learning_rate={learning_rate}, momentum={momentum}, l2={l2}")
        if int(batch_size) < 1 or int(n_epochs) < 0:
            raise ValueError(f"MLP: need batch_size >= 1 and n_epochs >= 0, got {batch_size} and {n_epochs}")
        self.layer_sizes = sizes
        self.learning_rate, self.momentum, self.l2 = float(learning_rate), float(momentum), float(l2)
        self.batch_size, self.n_epochs = int(batch_size), int(n_epochs)
        self.random_state, self.verbose = random_state, verbose
        m = xp()
        self.params = [(m.empty((n_in, n_out), dtype=self.dtype), m.empty(n_out, dtype=self.dtype))
                       for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.reset()

    def __repr__(self):
        return f"MLP({self.layer_sizes}, activation={self.activation!r}, output={self.output!r})"

    def reset(self):
        """Draw fresh initial weights into ``params`` in place; biases to zero.

        The generator is rebuilt from ``random_state``, so with an integer seed
        ``reset`` gives back exactly the weights the model was built with.
        Arrays shared with another model stay shared.
        """
        self._rng = RNG(self.random_state)
        for W, b in self.params:
            n_in, n_out = W.shape
            if self.init == "small":
                W[...] = self._rng.normal(W.shape, scale=0.01, dtype=W.dtype.type)
            else:
                r = np.sqrt(6.0 / (n_in + n_out))
                W[...] = self._rng.random(W.shape, dtype=W.dtype.type)
                W *= 2 * r
                W -= r
            b[...] = 0
        self.loss_curve_ = []
        return self

    @property
    def n_weights(self):
        """Number of weights, biases not counted: 1024-500-10 has 517,000."""
        return sum(int(W.size) for W, _ in self.params)

    @property
    def n_parameters(self):
        """Number of weights plus biases: 1024-500-10 has 517,510."""
        return sum(int(W.size + b.size) for W, b in self.params)

    # --- the maths (private: inputs are trusted) ------------------------
    def _activate(self, z):
        """a = f(z) for a hidden layer, in place."""
        m = xp()
        if self.activation == "sigmoid":
            return sigmoid(z, out=z)
        if self.activation == "tanh":
            return m.tanh(z, out=z)
        return m.maximum(z, 0, out=z)

    def _times_fprime(self, g, a):
        """g *= f'(z), with f'(z) written through a = f(z), in place."""
        if self.activation == "sigmoid":
            g *= a
            g *= 1 - a          # sigma'(z) = sigma(z) (1 - sigma(z))
        elif self.activation == "tanh":
            g *= 1 - a * a      # tanh'(z) = 1 - tanh(z)**2
        else:
            g *= a > 0          # relu'(z) = 1 where z > 0, else 0
        return g

    def _output_fn(self, Z):
        """y_hat from the output pre-activation Z (sigmoid and identity in place)."""
        if self.output == "sigmoid":
            return sigmoid(Z, out=Z)
        if self.output == "softmax":
            return softmax(Z, axis=1)
        return Z

    def _forward(self, X):
        """Return ([a_0 = X, a_1, ..., a_{L-1}], z_L), z_L of shape (n, n_out)."""
        acts = [X]
        for l, (W, b) in enumerate(self.params):
            z = acts[-1] @ W        # z_{l+1} = a_l W_{l+1} + b_{l+1}
            z += b
            if l == len(self.params) - 1:
                return acts, z
            acts.append(self._activate(z))

    def _objective(self, Z, T):
        """J = mean over rows of the loss, plus 0.5 * l2 * sum_l ||W_l||^2 (0-d array)."""
        m = xp()
        if self.output == "sigmoid":
            per = softplus(Z) - T * Z                # -[t log y_hat + (1-t) log(1-y_hat)]
        elif self.output == "softmax":
            per = -(T * log_softmax(Z, axis=1))      # -sum_k t_k log y_hat_k
        else:
            per = Z - T
            per *= per
            per *= 0.5                               # 0.5 * sum_k (y_hat_k - t_k)^2
        J = m.sum(per) / Z.shape[0]
        if self.l2:
            J = J + 0.5 * self.l2 * sum(m.vdot(W, W) for W, _ in self.params)
        return J

    def _backward(self, acts, Z, T, grads):
        """Backpropagation, chapter 3: write dJ/dW_l, dJ/db_l into ``grads``."""
        m = xp()
        delta = self._output_fn(Z)                    # (3.1) delta_L = (y_hat - t) / N
        delta -= T
        delta /= Z.shape[0]
        for l in range(len(self.params) - 1, -1, -1):  # code l is the book's l + 1
            W, _ = self.params[l]
            dW, db = grads[l]
            m.matmul(acts[l].T, delta, out=dW)        # (3.3) dJ/dW_l = a_{l-1}^T delta_l
            m.sum(delta, axis=0, out=db)              # (3.4) dJ/db_l = sum_n delta_l
            if self.l2:
                dW += self.l2 * W                     # d/dW of 0.5 * l2 * ||W||^2
            if l > 0:                                 # (3.2) delta_{l-1} = (delta_l W_l^T) * f'(z_{l-1})
                delta = self._times_fprime(delta @ W.T, acts[l])
        return grads

    def _step(self, grads, velocity):
        """One SGD step: v <- mu v - eta g; theta <- theta + v (g is overwritten)."""
        for l, ((W, b), (dW, db)) in enumerate(zip(self.params, grads)):
            for i, (p, g) in enumerate(((W, dW), (b, db))):
                g *= self.learning_rate
                if velocity is None:
                    p -= g
                else:
                    v = velocity[l][i]
                    v *= self.momentum
                    v -= g
                    p += v

    def _targets(self, y, where, n):
        """Targets T of shape (n, n_out): 0/1 column, one-hot rows, or real values."""
        m, k = xp(), self.layer_sizes[-1]
        if self.output == "sigmoid":
            y = check_labels(y, where, n, classes=(0, 1))
            return m.asarray(y.reshape(-1, 1), dtype=self.dtype)
        if self.output == "softmax":
            return one_hot(check_labels(y, where, n, classes=np.arange(k)), k, dtype=self.dtype)
        T = m.asarray(y, dtype=self.dtype)
        T = T.reshape(-1, 1) if T.ndim == 1 else T
        if T.shape != (n, k):
            expected = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
            raise ValueError(f"{where}: y must have shape {expected} for output='identity' with "
                             f"{k} output units, got {tuple(m.asarray(y).shape)}")
        if not bool(m.isfinite(T).all()):
            raise ValueError(f"{where}: y contains NaN or inf; clean the targets first")
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
            ``[X, a_1, ..., a_L]``, one per entry of ``layer_sizes``, ``a_l`` of
            shape (n_samples, layer_sizes[l]). ``a_L`` holds probabilities for
            the sigmoid and softmax outputs, predicted values for identity.
        """
        acts, Z = self._forward(self._check_X(X, "MLP.forward"))
        return acts + [self._output_fn(Z)]

    def loss(self, X, y):
        """The training objective J at the current parameters.

        ``J = (1/N) sum_n loss(y_hat_n, t_n) + 0.5 * l2 * sum_l sum_ij W_l[i, j]**2``,
        computed from the output pre-activation so it stays finite. Biases are
        not penalised; the second term vanishes when ``l2 == 0``.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples,), or (n_samples, n_out) for identity

        Returns
        -------
        float
        """
        X = self._check_X(X, "MLP.loss")
        _, Z = self._forward(X)
        return float(self._objective(Z, self._targets(y, "MLP.loss", X.shape[0])))

    def gradients(self, X, y):
        """dJ/dW_l and dJ/db_l of ``loss(X, y)`` by backpropagation (chapter 3).

        Equations (3.1)-(3.4): output delta ``delta_L = (y_hat - t) / N``, the
        recursion ``delta_l = (delta_{l+1} W_{l+1}^T) * f'(z_l)``, the weight
        gradient ``a_{l-1}^T delta_l`` (plus ``l2 * W_l``) and the bias
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
        acts, Z = self._forward(X)
        return self._backward(acts, Z, T, grads)

    def layer_gradient_norms(self, X, y):
        """Frobenius norm of each dJ/dW_l, input side first (chapter 4).

        Returns
        -------
        numpy.ndarray of shape (n_layers,)
        """
        m = xp()
        return np.array([float(m.linalg.norm(dW)) for dW, _ in self.gradients(X, y)])

    def fit(self, X, y):
        """Train by minibatch SGD, starting from the current ``params``.

        Each epoch shuffles the rows and takes one step per minibatch. Calling
        ``fit`` again goes on from where training stopped (velocity restarts at
        zero); call ``reset()`` first to start afresh. If the loss or the
        weights become NaN or inf, ``params`` are put back to their values
        before this call and ``TrainingDiverged`` is raised.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples,), or (n_samples, n_out) for identity

        Returns
        -------
        self
        """
        m = xp()
        X = self._check_X(X, "MLP.fit")
        T = self._targets(y, "MLP.fit", X.shape[0])
        n = X.shape[0]
        before = [(W.copy(), b.copy()) for W, b in self.params]
        grads = [(m.empty_like(W), m.empty_like(b)) for W, b in self.params]
        velocity = [(m.zeros_like(W), m.zeros_like(b)) for W, b in self.params] if self.momentum else None
        self.loss_curve_ = []
        # Overflow on a diverging run is caught below, once per epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(1, self.n_epochs + 1):
                order = m.asarray(self._rng.permutation(n))
                total = 0.0
                for start in range(0, n, self.batch_size):
                    rows = order[start:start + self.batch_size]
                    Tb = T[rows]
                    acts, Z = self._forward(X[rows])
                    total = total + self._objective(Z, Tb) * rows.shape[0]
                    self._step(self._backward(acts, Z, Tb, grads), velocity)
                self.loss_curve_.append(float(total) / n)
                if self.verbose:
                    print(f"MLP.fit: epoch {epoch}, loss {self.loss_curve_[-1]:.6f}")
                self._check_diverged(epoch, before)
        return self

    def _check_diverged(self, epoch, before):
        """After an epoch: if the loss or a weight is NaN/inf, restore ``before`` and raise."""
        loss = self.loss_curve_[-1]
        if np.isfinite(loss) and all(bool(xp().isfinite(W).all()) for W, _ in self.params):
            return
        for (W, b), (W0, b0) in zip(self.params, before):
            W[...], b[...] = W0, b0
        lr = self.learning_rate
        hint = (f"the parameters were put back to their values before fit; lower the learning rate "
                f"(learning_rate={lr:g} now, try {lr / 10:g})")
        check_finite_loss(loss, "MLP.fit", epoch, hint=hint)
        raise TrainingDiverged(f"MLP.fit: training diverged at epoch {epoch} (the weights hold NaN or "
                               f"inf); {hint} and fit again")

    def _y_hat(self, X, where):
        """Validate X and return the output layer a_L, shape (n_samples, n_out)."""
        acts, Z = self._forward(self._check_X(X, where))
        return self._output_fn(Z)

    def _decide(self, Y):
        """Labels (argmax, or p >= 0.5) from output probabilities; values for identity."""
        if self.output == "softmax":
            return Y.argmax(axis=1)
        if self.output == "sigmoid":
            return (Y[:, 0] >= 0.5).astype(np.int64)
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes); classification only.

        For ``output="sigmoid"`` the two columns are P(y=0) and P(y=1).
        """
        if self.output == "identity":
            raise ValueError("MLP.predict_proba: output='identity' is regression, "
                             "there are no probabilities; use predict")
        P = self._y_hat(X, "MLP.predict_proba")
        return xp().hstack([1 - P, P]) if self.output == "sigmoid" else P

    def predict(self, X):
        """Labels of shape (n_samples,) for classification; for identity, values
        of shape (n_samples,) with one output unit, else (n_samples, n_out)."""
        return self._decide(self._y_hat(X, "MLP.predict"))

    def score(self, X, y):
        """Accuracy for classification; R^2 for identity (mean over outputs).

        ``R^2 = 1 - sum_n (t - y_hat)^2 / sum_n (t - mean(t))^2`` per output
        column, then averaged, as ``sklearn.metrics.r2_score`` does.
        """
        m = xp()
        Y = self._y_hat(X, "MLP.score")
        if self.output != "identity":
            y = check_labels(y, "MLP.score", Y.shape[0])
            return float(np.mean(to_numpy(self._decide(Y)) == y))
        T = self._targets(y, "MLP.score", Y.shape[0])
        R = T - Y
        ss_res = m.sum(R * R, axis=0)
        ss_tot = m.sum((T - T.mean(axis=0)) ** 2, axis=0)
        return float(m.mean(1 - ss_res / ss_tot))
