"""Datasets: shipped data, the IDX parser, the MNIST download path (on localhost) and the split."""

import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest

from dbnlib import datasets


def write_idx(path, array, gz=True):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, rng, gz):
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    got = datasets.read_idx(write_idx(tmp_path / ("x.gz" if gz else "x"), images, gz=gz))
    np.testing.assert_array_equal(got, images)
    floats = rng.normal(size=(3, 4)).astype(">f4")
    np.testing.assert_array_equal(datasets.read_idx(write_idx(tmp_path / "f.gz", floats)), floats)
    ints = rng.integers(-5, 5, size=(6,)).astype(">i4")
    np.testing.assert_array_equal(datasets.read_idx(write_idx(tmp_path / "i.gz", ints)), ints)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    full = np.zeros((2, 3), dtype=np.uint8)
    path = write_idx(tmp_path / "t", full, gz=False)
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        datasets.read_idx(path)


def test_load_mnist_5k_is_real_and_scaled():
    X, y = datasets.load_mnist(subset="5k")
    assert X.shape == (5000, 784) and y.shape == (5000,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == [500] * 10
    Xb, _ = datasets.load_mnist(subset="5k", binarize=True)
    assert set(np.unique(Xb)) == {0.0, 1.0}
    np.testing.assert_array_equal(Xb, (X > 0.5).astype(float))
    # real digits: the mean "1" has less ink than the mean "0"
    assert X[y == 1].sum(axis=1).mean() < X[y == 0].sum(axis=1).mean()
    with pytest.raises(ValueError, match="subset must be"):
        datasets.load_mnist(subset="10k")


@pytest.fixture
def mnist_server(tmp_path, rng, monkeypatch):
    """Serve four small MNIST-format files on localhost and point dbnlib at them."""
    served = tmp_path / "served"
    served.mkdir()
    n_train, n_test = 12, 5
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    files = {}
    for key, (fname, _) in datasets.MNIST_FILES.items():
        path = write_idx(served / fname, arrays[key])
        files[key] = (fname, "md5:" + hashlib.md5(path.read_bytes()).hexdigest())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(datasets, "MNIST_FILES", files)
    monkeypatch.setattr(datasets, "MNIST_URLS", (f"http://127.0.0.1:{server.server_address[1]}/",))
    yield arrays, served
    server.shutdown()


def test_load_mnist_full_downloads_checks_and_caches(tmp_path, mnist_server):
    arrays, served = mnist_server
    cache = tmp_path / "cache"
    X_tr, y_tr, X_te, y_te = datasets.load_mnist(subset="full", cache_dir=cache, return_test=True)
    np.testing.assert_allclose(X_tr, arrays["train_images"].reshape(-1, 784) / 255.0)
    np.testing.assert_array_equal(y_te, arrays["test_labels"])
    assert len(list(cache.iterdir())) == 4
    # Cached: a second call works with the server's files gone.
    for f in served.iterdir():
        f.unlink()
    X, y = datasets.load_mnist(subset="full", cache_dir=cache)
    assert X.shape == (17, 784) and y.shape == (17,)


def test_load_mnist_full_rejects_a_corrupt_download(tmp_path, mnist_server, monkeypatch):
    files = dict(datasets.MNIST_FILES)
    fname, _ = files["train_labels"]
    files["train_labels"] = (fname, "md5:" + "0" * 32)
    monkeypatch.setattr(datasets, "MNIST_FILES", files)
    with pytest.raises(ConnectionError, match="could not download train-labels"):
        datasets.load_mnist(subset="full", cache_dir=tmp_path / "c2")


def test_load_mnist_full_offline_fails_clearly(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(datasets, "MNIST_URLS", (f"http://127.0.0.1:{port}/",))
    with pytest.raises(ConnectionError, match="needs the internet once.*subset='5k'"):
        datasets.load_mnist(subset="full", cache_dir=tmp_path)


def test_stratified_split_is_seeded_and_keeps_proportions():
    X, y = datasets.load_mnist(subset="5k")
    a = datasets.train_test_split(X, y, test_size=1000, random_state=0)
    b = datasets.train_test_split(X, y, test_size=1000, random_state=0)
    c = datasets.train_test_split(X, y, test_size=1000, random_state=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3])
    X_train, X_test, y_train, y_test = a
    assert np.bincount(y_test).tolist() == [100] * 10 and len(y_train) == 4000
    # a partition: no row is lost or repeated
    all_rows = np.concatenate([X_train, X_test])
    assert len(np.unique(all_rows.round(6), axis=0)) == len(np.unique(X.round(6), axis=0))
    # the same digits as scikit-learn's split with the same seed (the book compares against it)
    from sklearn.model_selection import train_test_split as sk_split

    np.testing.assert_array_equal(sk_split(X, y, test_size=1000, random_state=0, stratify=y)[3], y_test)
    with pytest.raises(ValueError, match="rows on both sides"):
        datasets.train_test_split(X, y, test_size=5000)


def test_xor_and_digits():
    X, y = datasets.load_xor()
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(int))
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and 0 <= X.min() and X.max() == 1.0
