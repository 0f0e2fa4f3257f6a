"""Resolve ``dbnlib.<name>`` cross-references to the entry that documents it.

Chapters call the library by the names they import, ``dbnlib.sigmoid`` or
``dbnlib.RBM.fit``, while the API reference documents each object in the
module that defines it (``dbnlib.numerics.sigmoid``). When the Python domain
cannot find a ``dbnlib.`` target as written, this extension imports it,
follows ``__module__`` and ``__qualname__`` to where it is defined, and
resolves the reference there. Anything that still does not resolve stays a
broken reference, which ``--nitpick`` turns into an error.
"""

import importlib
import re

# |z|, |w|, |W_ij| in a docstring are absolute values written as plain text;
# rST would read them as substitution references (which dbnlib never defines)
# and fail the build. Outside ``literals`` they are shown as ``|z|``.
_ABS = re.compile(r"(?<![\w`|\\])\|([^|\s`][^|`\n]*?[^|\s`]|[^|\s`])\|(?![\w`|])")
_LITERAL = re.compile(r"(``.+?``)")


def _defined_at(target):
    """Candidate documented names for ``target``, e.g. ``dbnlib.RBM.fit``."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        owner = None
        try:
            for name in parts[cut:]:
                owner, obj = obj, getattr(obj, name)
        except AttributeError:
            return []
        found = []
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if module and qualname:
            found.append(f"{module}.{qualname}")
        # A method inherited from an undocumented base: try the class we came through.
        if isinstance(owner, type):
            found.append(f"{owner.__module__}.{owner.__qualname__}.{parts[-1]}")
        if module is None and isinstance(obj, type(importlib)):
            found.append(obj.__name__)
        return found
    return []


def resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("dbnlib."):
        return None
    domain = env.get_domain("py")
    for alias in _defined_at(target):
        if alias == target:
            continue
        node["reftarget"] = alias
        ref = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], alias, node, contnode)
        if ref is None and node["reftype"] != "obj":
            ref = domain.resolve_xref(env, node["refdoc"], app.builder, "obj", alias, node, contnode)
        node["reftarget"] = target
        if ref is not None:
            return ref
    return None


def absolute_values_as_literals(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[i] = "".join(part if k % 2 else _ABS.sub(r"``|\1|``", part) for k, part in enumerate(parts))


def setup(app):
    app.connect("missing-reference", resolve)
    # before napoleon (priority 500), so its sections see the same text
    app.connect("autodoc-process-docstring", absolute_values_as_literals, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
