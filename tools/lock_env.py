"""Write or check constraints.txt, the exact versions the course was built with.

    python tools/lock_env.py            # write constraints.txt from this environment
    python tools/lock_env.py --check    # list where this environment differs from it

The lock holds every distribution that ``dbnlib[test]`` needs, directly or
through its dependencies, at the version installed in the running environment
(``make lock`` runs it in ``.venv``). Packages installed by hand that the
course does not need are left out, and dbnlib itself is not pinned. The stored
notebook outputs were made with these versions; ``make install`` and CI install
through the file with ``pip install -c constraints.txt``.

``--check`` is the drift report of the scheduled workflow
(.github/workflows/drift.yml): it installs the newest releases without the lock,
runs the tests, and prints which packages moved.
"""

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "constraints.txt"
HEADER = """\
# Exact versions the course's stored outputs were made with (CPython 3.11, Linux x86_64).
# Used as pip constraints: pip install -c constraints.txt -e ".[test]"
# Refresh with `make lock` after upgrading .venv on purpose, then re-run `make execute`.
"""


def closure(root="dbnlib", extras=("test",)):
    """Installed distributions needed by ``root[extras]``: {canonical name: (name, version)}."""
    found, todo = {}, [(root, set(extras))]
    seen = set()
    while todo:
        name, wanted = todo.pop()
        key = (canonicalize_name(name), frozenset(wanted))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a marker-excluded or optional dependency that is not installed
        found[canonicalize_name(dist.metadata["Name"])] = (dist.metadata["Name"], dist.version)
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [dict(default_environment(), extra=e) for e in (wanted or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, set(req.extras)))
    # dbnlib is the project itself; the packaging tools are pip's business (as in pip freeze).
    for name in (root, "pip", "setuptools", "wheel"):
        found.pop(canonicalize_name(name), None)
    return found


def read_lock(path=LOCK):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = (name, version)
    return pins


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare this environment with constraints.txt")
    args = parser.parse_args(argv)
    installed = closure()
    if not args.check:
        lines = [f"{name}=={version}" for name, version in sorted(installed.values(), key=lambda t: t[0].lower())]
        text = HEADER + "\n".join(lines) + "\n"
        if LOCK.exists() and LOCK.read_text() == text:
            print(f"{LOCK.relative_to(ROOT)} is up to date: {len(lines)} pinned distributions")
            return 0
        LOCK.write_text(text)  # only when it changed: make reinstalls .venv when the lock is newer
        print(f"wrote {LOCK.relative_to(ROOT)}: {len(lines)} pinned distributions")
        return 0
    locked = read_lock()
    rows = []
    for key in sorted(set(locked) | set(installed)):
        old = locked.get(key, (None, "-"))[1]
        new = installed.get(key, (None, "-"))[1]
        if old != new:
            rows.append((installed.get(key, locked.get(key))[0], old, new))
    if not rows:
        print(f"no drift: this environment matches constraints.txt ({len(locked)} pins)")
        return 0
    width = max(len(r[0]) for r in rows)
    print(f"{len(rows)} of {len(locked)} pins differ from constraints.txt:")
    print(f"{'package':<{width}}  {'locked':>14}  {'installed':>14}")
    for name, old, new in rows:
        print(f"{name:<{width}}  {old:>14}  {new:>14}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
