"""Files that survive: atomic saves, cleaned leftovers, ordinary permissions, clear errors on bad files."""

import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import dbnlib
import dbnlib._io
from dbnlib import DBN, RBM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rbm():
    return RBM(6, 3, n_epochs=1, random_state=0).fit((np.random.default_rng(0).random((20, 6)) < 0.5) * 1.0)


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def test_the_temporary_file_sits_next_to_the_target_and_is_named_after_it(tmp_path, monkeypatch):
    seen = []
    replace = os.replace

    def recording_replace(src, dst):
        seen.append((src, os.fspath(dst)))
        return replace(src, dst)

    monkeypatch.setattr(dbnlib._io.os, "replace", recording_replace)
    _rbm().save(tmp_path / "model.npz")
    ((tmp, dst),) = seen
    assert dst == str(tmp_path / "model.npz")
    assert os.path.dirname(tmp) == str(tmp_path)
    assert os.path.basename(tmp) == f".model.npz.{os.getpid()}.tmp"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_the_next_save_removes_leftovers_of_dead_saves_only(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that process has exited
    live_pid = os.getppid()  # our parent runs, so a save of its could be in flight
    for pid in (dead_pid, live_pid):
        (tmp_path / f".model.npz.{pid}.tmp").write_bytes(b"half a file")
    (tmp_path / f".other.npz.{dead_pid}.tmp").write_bytes(b"another target's leftover")
    _rbm().save(tmp_path / "model.npz")
    assert _leftovers(tmp_path) == sorted([f".model.npz.{live_pid}.tmp", f".other.npz.{dead_pid}.tmp"])


def test_a_save_killed_with_sigkill_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "big.npz"
    _rbm().save(target)
    writer = (
        "import numpy as np, sys\n"
        "from dbnlib._io import write_npz\n"
        "W = np.random.default_rng(0).random((4000, 2000))\n"  # 64 MB: the kill lands mid-write
        "while True:\n"
        "    write_npz(sys.argv[1], {'cls': 'RBM'}, {'W': W})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer, str(target)], cwd=ROOT)
    tmp = tmp_path / f".big.npz.{proc.pid}.tmp"
    deadline = time.monotonic() + 60
    while not (tmp.exists() and tmp.stat().st_size > 1_000_000) and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert tmp.exists(), "the writer never got into a save"
    meta, _ = dbnlib._io.read_npz(target)  # the target is whole: the old model or a complete new file
    assert meta["cls"] in ("RBM",)
    _rbm().save(target)
    assert _leftovers(tmp_path) == []
    assert isinstance(dbnlib.load(target), RBM)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_permissions_of_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        _rbm().save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "m.npz").st_mode & 0o777 == 0o666 & ~umask


def _bad_files(folder):
    good = folder / "good.npz"
    _rbm().save(good)
    data = good.read_bytes()
    files = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "garbage": bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)),
        "text": b"this is not a model\n",
    }
    for name, content in files.items():
        (folder / f"{name}.npz").write_bytes(content)
    np.savez(folder / "foreign.npz", W=np.zeros(3))  # a NumPy archive from elsewhere
    np.save(folder / "array.npy", np.zeros(3))
    with zipfile.ZipFile(folder / "nomarker.npz", "w") as z:  # metadata without dbnlib's marker
        z.writestr("meta_json.npy", data[:0])
    corrupt = bytearray(data)
    corrupt[len(corrupt) // 3 : len(corrupt) // 3 + 64] = b"\xff" * 64
    (folder / "corrupt.npz").write_bytes(bytes(corrupt))
    return ["empty.npz", "truncated.npz", "garbage.npz", "text.npz", "foreign.npz", "array.npy", "nomarker.npz",
            "corrupt.npz"]  # fmt: skip


def test_bad_files_raise_a_value_error_naming_the_path(tmp_path):
    for name in _bad_files(tmp_path):
        path = tmp_path / name
        for load in (dbnlib.load, RBM.load, DBN.load):
            with pytest.raises(ValueError, match=rf"{path}.* is not a dbnlib model file"):
                load(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        dbnlib.load(tmp_path / "missing.npz")


def test_a_failed_save_leaves_the_last_file_whole_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    model = _rbm()
    model.save(path)

    def broken_savez(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(dbnlib._io.np, "savez", broken_savez)
    saved = model.W.copy()
    model.W += 1
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    np.testing.assert_array_equal(RBM.load(path).W, saved)
    assert os.listdir(tmp_path) == ["ckpt.npz"]
