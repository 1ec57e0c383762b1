"""The layer order of the code: the one definition, and the import arrows it is checked against.

Every module of ``pcn_planner`` and of the separate ``solvers`` package belongs
to one layer. A module may import from its own layer and any layer below it,
never from a layer above (``tests/test_layers.py`` enforces this, and
``docs/make_architecture.py`` draws it)::

    core < data < geography < model < scoring < solvers < outputs < batch < cli

- ``pcn_planner.<layer>`` subpackages (``core``, ``data``, ``geography``,
  ``model``, ``scoring``, ``outputs``, ``batch``) are their own layers;
- ``solvers`` (the top-level engine package) and ``pcn_planner.optimise`` (its
  front door) form the ``solvers`` layer; the ``solvers`` package itself may
  import only :data:`SOLVERS_MAY_IMPORT` from ``pcn_planner``;
- ``pcn_planner`` (the public facade), ``pcn_planner.cli`` and
  ``pcn_planner.__main__`` form the ``cli`` layer.

:func:`import_edges` reads the source with :mod:`ast` (nothing is imported), so
it sees module-level imports, imports inside functions (*lazy*) and imports
under ``if TYPE_CHECKING:``. Dynamic imports (``importlib.import_module`` with a
computed name) are not seen.

>>> layer_of("pcn_planner.model.plan")
'model'
>>> layer_of("pcn_planner.optimise"), layer_of("solvers.compact")
('solvers', 'solvers')
>>> LAYERS.index("scoring") < LAYERS.index("outputs")
True
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: The layers, bottom first. A module may import its own layer and those before it.
LAYERS: tuple[str, ...] = (
    "core", "data", "geography", "model", "scoring", "solvers", "outputs", "batch", "cli",
)

#: The packages whose modules are placed in layers.
PACKAGES: tuple[str, ...] = ("pcn_planner", "solvers")

#: The only ``pcn_planner`` layers the separate ``solvers`` package may import.
SOLVERS_MAY_IMPORT: tuple[str, ...] = ("core", "model", "scoring")

#: ``pcn_planner`` subpackages that are a layer of their own name.
_SUBPACKAGE_LAYERS: frozenset[str] = frozenset(
    {"core", "data", "geography", "model", "scoring", "outputs", "batch"}
)

#: ``pcn_planner`` modules outside the layer subpackages, and their layer.
_TOP_MODULES: dict[str, str] = {
    "pcn_planner": "cli",  # the public API facade (pcn_planner/__init__.py)
    "pcn_planner.__main__": "cli",
    "pcn_planner.cli": "cli",
    "pcn_planner.optimise": "solvers",  # the engine's front door
    "pcn_planner.session": "solvers",  # related solves from one state
}


@dataclass(frozen=True, order=True)
class ImportEdge:
    """One import of a ``pcn_planner`` or ``solvers`` module, as written in the source.

    Parameters
    ----------
    importer
        Dotted name of the importing module (``pcn_planner.model.plan``).
    imported
        Dotted name of the imported module. For ``from M import x`` this is
        ``M.x`` when ``M.x`` is a module of the tree, else ``M``.
    line
        1-based line of the ``import`` statement.
    lazy
        True when the import is inside a function (it runs on call, not on import).
    path
        File of the importer, relative to the root given to :func:`import_edges`
        (POSIX separators).
    scope
        Qualified name of the enclosing function (``Plan.explore``,
        ``main.<locals>.run``), or ``""`` for an import that runs with the module.
    type_checking
        True when the import is under ``if TYPE_CHECKING:`` (used by annotations
        only; never run).
    """

    importer: str
    imported: str
    line: int
    lazy: bool
    path: str = ""
    scope: str = ""
    type_checking: bool = False

    @property
    def importer_layer(self) -> str:
        """The layer of :attr:`importer`."""
        return layer_of(self.importer)

    @property
    def imported_layer(self) -> str:
        """The layer of :attr:`imported`."""
        return layer_of(self.imported)

    @property
    def upward(self) -> bool:
        """True when the import points to a higher layer than its importer's."""
        return layer_rank(self.imported_layer) > layer_rank(self.importer_layer)

    def describe(self) -> str:
        """``file:line importer -> imported (layer a -> layer b)``, with the scope when lazy."""
        where = f" in {self.scope}()" if self.scope else ""
        kind = " [TYPE_CHECKING]" if self.type_checking else ""
        return (f"{self.path}:{self.line} {self.importer} -> {self.imported} "
                f"({self.importer_layer} -> {self.imported_layer}){where}{kind}")


def layer_rank(layer: str) -> int:
    """Position of a layer in :data:`LAYERS` (0 is the bottom).

    Parameters
    ----------
    layer
        A name from :data:`LAYERS`.

    Returns
    -------
    int
        Its index; higher layers have higher ranks.

    Raises
    ------
    ValueError
        If ``layer`` is not a layer name.
    """
    try:
        return LAYERS.index(layer)
    except ValueError:
        raise ValueError(f"unknown layer {layer!r}; the layers are {', '.join(LAYERS)}") from None


def layer_of(module_name: str) -> str:
    """The layer a module of ``pcn_planner`` or ``solvers`` belongs to.

    Parameters
    ----------
    module_name
        Dotted module name, e.g. ``pcn_planner.scoring.scorecard`` or ``solvers.master``.

    Returns
    -------
    str
        One of :data:`LAYERS`.

    Raises
    ------
    ValueError
        If the module is not in either package, or is a new top-level
        ``pcn_planner`` module that has not been given a layer (add it to a
        layer subpackage, or to ``_TOP_MODULES`` here).

    Examples
    --------
    >>> layer_of("pcn_planner"), layer_of("pcn_planner.outputs.maps.plan_map"), layer_of("solvers")
    ('cli', 'outputs', 'solvers')
    """
    parts = module_name.split(".")
    if parts[0] == "solvers":
        return "solvers"
    if parts[0] != "pcn_planner":
        raise ValueError(f"{module_name!r} is not a module of {' or '.join(PACKAGES)}")
    if len(parts) > 1 and parts[1] in _SUBPACKAGE_LAYERS:
        return parts[1]
    top = ".".join(parts[:2])
    if top in _TOP_MODULES:
        return _TOP_MODULES[top]
    raise ValueError(f"{module_name!r} has no layer: move it into a layer subpackage "
                     "or name it in pcn_planner.core.layers._TOP_MODULES")


def default_root() -> Path:
    """The folder holding the ``pcn_planner`` and ``solvers`` packages (the repository, or site-packages)."""
    return Path(__file__).resolve().parents[2]


def module_files(root: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Every module of :data:`PACKAGES` under ``root``, by dotted name.

    Parameters
    ----------
    root
        Folder that contains the package folders; default :func:`default_root`.

    Returns
    -------
    dict of str to pathlib.Path
        Module name (``pcn_planner.model`` for ``pcn_planner/model/__init__.py``)
        to its file, sorted by name.
    """
    base = Path(root) if root is not None else default_root()
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((base / package).rglob("*.py")):
            rel = path.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return dict(sorted(found.items()))


def import_edges(root: str | os.PathLike[str] | None = None) -> list[ImportEdge]:
    """Every import of a ``pcn_planner`` or ``solvers`` module in those packages' source.

    Each ``.py`` file is parsed with :mod:`ast`; nothing is imported or run.
    Absolute and relative imports are both resolved to dotted module names.

    Parameters
    ----------
    root
        Folder that contains the ``pcn_planner`` and ``solvers`` package folders;
        default :func:`default_root`.

    Returns
    -------
    list of ImportEdge
        One edge per imported module per statement, sorted by importer, line and
        imported module. Imports of other packages (numpy, the standard library)
        and of a module by itself are left out.

    Raises
    ------
    SyntaxError
        If a file does not parse.

    Examples
    --------
    >>> edges = import_edges()
    >>> sorted({e.imported_layer for e in edges if e.importer_layer == "core"})
    ['core']
    """
    base = Path(root) if root is not None else default_root()
    files = module_files(base)
    known = set(files)
    edges: set[ImportEdge] = set()
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(base).as_posix()
        is_package = path.name == "__init__.py"
        for node, scope, lazy, type_checking in _walk_imports(tree):
            for target in _targets(node, module, is_package, known):
                if target.split(".")[0] not in PACKAGES or target == module:
                    continue
                edges.add(ImportEdge(module, target, node.lineno, lazy, rel, scope, type_checking))
    return sorted(edges, key=lambda e: (e.importer, e.line, e.imported))


def module_level(edges: Iterable[ImportEdge]) -> list[ImportEdge]:
    """The edges that run when the importer is imported: not lazy, not under ``TYPE_CHECKING``."""
    return [e for e in edges if not e.lazy and not e.type_checking]


def _walk_imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, str, bool, bool]]:
    """Yield ``(import node, enclosing function qualname, lazy, under TYPE_CHECKING)`` for every import."""

    def visit(nodes: Iterable[ast.AST], qual: tuple[str, ...], func: str, in_func: bool,
              in_tc: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, str, bool, bool]]:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                yield node, func, in_func, in_tc
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = ".".join((*qual, node.name))
                yield from visit(node.body, (*qual, node.name, "<locals>"), name, True, in_tc)
            elif isinstance(node, ast.ClassDef):
                yield from visit(node.body, (*qual, node.name), func, in_func, in_tc)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from visit(node.body, qual, func, in_func, True)
                yield from visit(node.orelse, qual, func, in_func, in_tc)
            else:
                yield from visit(ast.iter_child_nodes(node), qual, func, in_func, in_tc)

    yield from visit(tree.body, (), "", False, False)


def _is_type_checking(test: ast.expr) -> bool:
    """True for ``TYPE_CHECKING`` and ``typing.TYPE_CHECKING`` (and ``t.TYPE_CHECKING``)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The dotted modules one import statement brings in."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    source = _resolve(node.module, node.level, module, is_package)
    if source is None:
        return []
    out = []
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        out.append(sub if alias.name != "*" and sub in known else source)
    return out


def _resolve(name: str | None, level: int, module: str, is_package: bool) -> str | None:
    """The absolute module of ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(parts) - 1:
        return None  # beyond the top-level package; Python would refuse it too
    parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, name] if name else parts)
