"""The library's habits, read from the source with ``ast`` (nothing is imported).

- Every third-party package the code imports is declared in ``pyproject.toml``: a module-level
  import in ``[project] dependencies``; an import inside a function, a ``try`` block or
  ``if TYPE_CHECKING:`` (an optional feature) in the dependencies or an extra other than ``test``.
- The library talks through ``logging``, never ``print``: only the command line
  (``pcn_planner/cli.py``, ``pcn_planner/__main__.py``) prints, and only it sets logging up
  (no ``logging.basicConfig``, no handler added by library code); library loggers are
  ``logging.getLogger(__name__)``.
- The library never redirects the process's stdout or stderr (``os.dup2``, ``sys.stdout =``,
  ``contextlib.redirect_stdout``): that silences every thread and every other library in the
  process. The one exception is listed in :data:`ALLOWED_REDIRECTS` with its reason, and the
  list cannot rot (an entry that no longer occurs fails).
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pcn_planner", "solvers")
FIRST_PARTY = set(PACKAGES)

#: Import names whose distribution is named differently (checked before the installed metadata).
DISTRIBUTION_OF = {
    "sklearn": "scikit-learn",
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "google.protobuf": "protobuf",
}

#: Requirements whose extras install further distributions that the code imports by name.
BUNDLED = {"dask[distributed]": ("distributed",)}

#: Modules that may print and set logging up: the command line.
CLI_MODULES = {"pcn_planner/cli.py", "pcn_planner/__main__.py"}

#: (module path, function qualname) -> why it may point a standard stream elsewhere.
ALLOWED_REDIRECTS = {
    ("solvers/highs.py", "quiet_banner"): "HiGHS prints its copyright banner from C++ when a process makes its "
                                          "first Highs object, before any option can turn output off; this is "
                                          "done once, on first use, around that one constructor",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(spec: str) -> tuple[str, frozenset[str]]:
    """(normalised name, extras) of a PEP 508 requirement string."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", spec)
    assert m, f"cannot read the requirement {spec!r}"
    extras = frozenset(_normal(e) for e in (m.group(2) or "").split(",") if e.strip())
    return _normal(m.group(1)), extras


def _provided(specs: list[str]) -> set[str]:
    """Normalised distribution names a list of requirements installs (by name, and bundled by extras)."""
    out = set()
    for spec in specs:
        name, extras = _requirement(spec)
        out.add(name)
        for extra in extras:
            key = f"{name}[{extra}]"
            out.update(_normal(d) for d in BUNDLED.get(key, ()))
    return out


def _pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]


@functools.cache
def _installed() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    """Normalised distribution names that may provide a top-level import name."""
    for name in (module, module.split(".")[0]):
        if name in DISTRIBUTION_OF:
            return {_normal(DISTRIBUTION_OF[name])}
    top = module.split(".")[0]
    installed = _installed().get(top)
    return {_normal(d) for d in installed} if installed else {_normal(top)}


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


@dataclass(frozen=True)
class Import:
    file: str
    line: int
    module: str
    optional: bool  # inside a function, a try block or `if TYPE_CHECKING:`


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(file: str, tree: ast.Module) -> Iterator[Import]:
    def body(statements: list[ast.stmt], optional: bool) -> Iterator[Import]:
        for statement in statements:
            yield from node(statement, optional)

    def node(child: ast.AST, optional: bool) -> Iterator[Import]:
        if isinstance(child, ast.Import):
            for alias in child.names:
                yield Import(file, child.lineno, alias.name, optional)
        elif isinstance(child, ast.ImportFrom):
            if child.level == 0 and child.module:
                yield Import(file, child.lineno, child.module, optional)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from body(child.body, True)
        elif isinstance(child, ast.Try | ast.TryStar):
            yield from body(child.body, True)
            for handler in child.handlers:
                yield from body(handler.body, optional)
            yield from body(child.orelse, optional)
            yield from body(child.finalbody, optional)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from body(child.body, True)
            yield from body(child.orelse, optional)
        else:
            for grandchild in ast.iter_child_nodes(child):
                yield from node(grandchild, optional)

    yield from body(tree.body, False)


def _third_party(imp: Import) -> bool:
    top = imp.module.split(".")[0]
    return top not in sys.stdlib_module_names and top not in FIRST_PARTY


def _qualname(tree: ast.Module) -> dict[ast.AST, str]:
    """Each node's enclosing function or class qualname ('' at module level)."""
    names: dict[ast.AST, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = prefix
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{prefix}.{child.name}" if prefix else child.name
            names[child] = inner
            visit(child, inner)

    visit(tree, "")
    return names


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


# ---------------------------------------------------------------------------
# (a) declared dependencies
# ---------------------------------------------------------------------------


def test_every_imported_package_is_declared() -> None:
    project = _pyproject()
    required = _provided(project.get("dependencies", []))
    extras = {name: _provided(specs) for name, specs in project.get("optional-dependencies", {}).items()}
    optional = set().union(*(provided for name, provided in extras.items() if name != "test"))
    problems = []
    for file, tree in _sources():
        for imp in filter(_third_party, _imports(file, tree)):
            dists = _distributions(imp.module)
            where = f"{imp.file}:{imp.line} imports {imp.module} (distribution {' or '.join(sorted(dists))})"
            if dists & required:
                continue
            if dists & optional:
                if not imp.optional:
                    problems.append(f"{where}: declared only in an extra, so import it inside a function or a "
                                    "try block, or move it to [project] dependencies")
                continue
            problems.append(f"{where}: not in [project] dependencies"
                            + (" or an extra" if imp.optional else "")
                            + " (add it with a lower bound; map an import name that differs from its "
                              "distribution in DISTRIBUTION_OF)")
    assert not problems, "\n".join(problems)


def test_requirement_names_are_read_as_distributions() -> None:
    assert _requirement("dask[distributed]>=2024.1") == ("dask", frozenset({"distributed"}))
    assert _requirement("PyYAML>=6.0") == ("pyyaml", frozenset())
    assert _provided(["dask[distributed]>=2024.1", "scikit-learn>=1.4"]) == {"dask", "distributed", "scikit-learn"}
    assert _distributions("sklearn.cluster") == {"scikit-learn"}
    assert _distributions("yaml") == {"pyyaml"}


def test_the_import_walk_tells_optional_imports_apart() -> None:
    tree = ast.parse(
        "import numpy\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import geopandas\n"
        "try:\n    import distributed\nexcept ImportError:\n    distributed = None\n"
        "def f():\n    import openpyxl\n"
        "if numpy:\n    import scipy\n"
    )
    got = {i.module: i.optional for i in _imports("x.py", tree)}
    assert got == {"numpy": False, "typing": False, "geopandas": True, "distributed": True, "openpyxl": True,
                   "scipy": False}


# ---------------------------------------------------------------------------
# (b) logging, not printing
# ---------------------------------------------------------------------------


def test_only_the_command_line_prints() -> None:
    found = []
    for file, tree in _sources():
        if file in CLI_MODULES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func) in ("print", "builtins.print"):
                found.append(f"{file}:{node.lineno} print(...): use logging.getLogger(__name__) instead")
    assert not found, "\n".join(found)


def test_only_the_command_line_sets_logging_up() -> None:
    found = []
    for file, tree in _sources():
        if file in CLI_MODULES:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            if name in ("logging.basicConfig", "basicConfig", "logging.config.dictConfig", "dictConfig",
                        "logging.config.fileConfig", "fileConfig") or name.endswith(".addHandler"):
                found.append(f"{file}:{node.lineno} {name}(...): a library leaves handlers to the application")
    assert not found, "\n".join(found)


def test_library_loggers_are_named_after_their_module() -> None:
    found = []
    for file, tree in _sources():
        if file in CLI_MODULES:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _dotted(node.func) in ("logging.getLogger", "getLogger")):
                continue
            if not (len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id == "__name__"):
                found.append(f"{file}:{node.lineno} getLogger(...) without __name__: the CLI's -v/-q set only the "
                             "'pcn_planner' and 'solvers' loggers and the loggers named after modules below them")
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------------
# (c) no redirection of the process's standard streams
# ---------------------------------------------------------------------------

_REDIRECT_CALLS = ("os.dup2", "dup2", "contextlib.redirect_stdout", "contextlib.redirect_stderr",
                   "redirect_stdout", "redirect_stderr")
_STREAMS = ("sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__")


def _redirects(file: str, tree: ast.Module) -> Iterator[tuple[str, int, str, str]]:
    """(file, line, enclosing qualname, what) for each redirection of a standard stream."""
    where = _qualname(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) in _REDIRECT_CALLS:
            yield file, node.lineno, where.get(node, ""), f"{_dotted(node.func)}(...)"
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if _dotted(t) in _STREAMS:
                        yield file, node.lineno, where.get(node, ""), f"{_dotted(t)} = ..."
        if isinstance(node, ast.Call) and _dotted(node.func) == "setattr" and len(node.args) >= 2 \
                and _dotted(node.args[0]) == "sys" and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value in ("stdout", "stderr"):
            yield file, node.lineno, where.get(node, ""), f"setattr(sys, {node.args[1].value!r}, ...)"


def test_the_library_never_redirects_stdout_or_stderr() -> None:
    found, used = [], set()
    for file, tree in _sources():
        for path, line, qualname, what in _redirects(file, tree):
            allowed = [(f, q) for f, q in ALLOWED_REDIRECTS if f == path and (qualname == q or
                                                                           qualname.startswith(q + "."))]
            if allowed:
                used.update(allowed)
                continue
            found.append(f"{path}:{line} {qualname or '<module>'}: {what} silences or moves the whole process's "
                         "output; configure the tool's own output instead")
    stale = [f"{f}::{q} is listed in ALLOWED_REDIRECTS but no longer redirects: delete the entry"
             for f, q in ALLOWED_REDIRECTS if (f, q) not in used]
    assert not found + stale, "\n".join(found + stale)


@pytest.mark.parametrize("source", [
    "import os\ndef f(fd):\n    os.dup2(fd, 1)\n",
    "import sys, io\nsys.stdout = io.StringIO()\n",
    "import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n    pass\n",
    "import sys\nsetattr(sys, 'stderr', None)\n",
])
def test_redirections_are_seen(source: str) -> None:
    assert list(_redirects("x.py", ast.parse(source)))
