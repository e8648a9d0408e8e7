"""No two of the project's modules import each other.

The graph covers every ``.py`` file under ``qa/``, ``index/`` and ``eval/``, and ``app.py``. A
file is the module its path names (``qa/hits.py`` is ``qa.hits``, ``qa/__init__.py`` is ``qa``,
``app.py`` is ``app``). Its edges are every ``import`` and ``from ... import`` statement in it,
wherever it stands: at module level, inside a function or under ``if TYPE_CHECKING:``. Relative
imports are resolved against the file's package. An edge goes to the most specific project
module named:

* ``import a.b.c``: ``a.b.c`` if it is a module file, else ``a.b``, else ``a``;
* ``from a.b import n``: ``a.b.n`` when that is a module file, else ``a.b`` (``n`` is a name
  defined in ``a.b``).

Importing a submodule runs its package's ``__init__`` too, but that is not an edge to the
package: ``qa/__init__.py`` importing ``qa.api`` while ``qa/api.py`` imports ``qa.settings`` is
no cycle. ``qa.api`` importing a name defined in ``qa/__init__.py`` (``from qa import ask``) is an
edge to ``qa``, and with the one back it is a cycle. Imports of third-party modules, imports
inside strings (``importlib.import_module``, ``python -c``) and self-imports are not edges.

A cycle counted here is a pair A -> B and B -> A.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROJECT_DIRS = ("qa", "index", "eval")
PROJECT_FILES = ("app.py",)


def module_name(path: str) -> str:
    """``qa/hits.py`` -> ``qa.hits``; ``qa/__init__.py`` -> ``qa``."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(path: str) -> str:
    """The package relative imports in ``path`` start from (a package's own for ``__init__``)."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1])


def _longest_module(name: str, modules: set[str]) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_graph(files: Mapping[str, str]) -> dict[str, set[str]]:
    """Edges between project modules; ``files`` maps a posix path (``qa/hits.py``) to its source."""
    modules = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path, source in files.items():
        here = module_name(path)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(source, filename=path)):
            if isinstance(node, ast.Import):
                targets.update(t for a in node.names if (t := _longest_module(a.name, modules)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = [x for x in _package(path).split(".") if x]
                    base = parts[: len(parts) - node.level + 1]  # one dot: the package itself
                    source_mod = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source_mod = node.module or ""
                for alias in node.names:
                    sub = f"{source_mod}.{alias.name}" if source_mod else alias.name
                    target = sub if sub in modules else _longest_module(source_mod, modules)
                    if target:
                        targets.add(target)
        graph[here] = targets - {here}
    return graph


def two_way_pairs(graph: Mapping[str, set[str]]) -> list[tuple[str, str]]:
    """Each pair of modules that import each other, once, sorted."""
    return sorted((a, b) for a, outs in graph.items() for b in outs if a < b and a in graph.get(b, ()))


def project_sources(root: Path = ROOT) -> dict[str, str]:
    paths = [p for d in PROJECT_DIRS for p in (root / d).rglob("*.py")]
    paths += [root / f for f in PROJECT_FILES]
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(paths)}


def test_no_two_way_imports() -> None:
    graph = import_graph(project_sources())
    assert len(graph) > 50, "the project's modules were not found"
    pairs = two_way_pairs(graph)
    assert not pairs, (
        "These project modules import each other (module-level, function-level and TYPE_CHECKING "
        "imports all count):\n"
        + "\n".join(f"  {a} <-> {b}" for a, b in pairs)
        + "\nMove the shared piece into a module both can import, so the imports run one way."
    )


_ONE_WAY = {"p/__init__.py": "", "p/a.py": "from p.b import f\n", "p/b.py": "def f(): ...\n"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (_ONE_WAY, []),
        (
            {"p/__init__.py": "", "p/a.py": "import p.b\n", "p/b.py": "from p.a import g\n"},
            [("p.a", "p.b")],
        ),
        (
            {
                "p/__init__.py": "",
                "p/a.py": "from p import b\n",
                "p/b.py": "def f():\n    from p.a import g\n",
            },
            [("p.a", "p.b")],
        ),
        (
            {
                "p/__init__.py": "",
                "p/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import T\n",
                "p/b.py": "from . import a\n",
            },
            [("p.a", "p.b")],
        ),
        (
            {
                "p/__init__.py": "",
                "p/q/__init__.py": "",
                "p/q/a.py": "from ..b import x\n",
                "p/b.py": "import p.q.a\n",
            },
            [("p.b", "p.q.a")],
        ),
        # A package importing its submodule, which imports a sibling: no edge back to the package.
        ({"p/__init__.py": "from p.a import f\n", "p/a.py": "from p.b import g\n", "p/b.py": ""}, []),
        # The submodule importing a name the package's __init__ defines: a cycle with the package.
        ({"p/__init__.py": "from p.a import f\nX = 1\n", "p/a.py": "from p import X\n"}, [("p", "p.a")]),
        ({"app.py": "from p.a import f\n", "p/__init__.py": "", "p/a.py": "import app\n"}, [("app", "p.a")]),
        # Third-party and standard-library imports are not edges.
        ({"p/__init__.py": "", "p/a.py": "import json\nfrom numpy import array\n"}, []),
    ],
    ids=[
        "one-way",
        "module-level",
        "function-level",
        "type-checking-relative",
        "two-dots-relative",
        "package-init-to-submodule",
        "submodule-to-package-name",
        "app",
        "third-party",
    ],
)
def test_import_graph_finds_two_way_pairs(files: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert two_way_pairs(import_graph(files)) == expected
