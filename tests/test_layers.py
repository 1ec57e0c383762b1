"""The layer order holds: no import arrow points up, solvers stays on the domain, no import cycles.

The order is defined once, in :mod:`pcn_planner.core.layers`::

    core < data < geography < model < scoring < solvers < outputs < batch < cli

Every import in ``pcn_planner`` and ``solvers`` (module level, inside
functions, under ``TYPE_CHECKING``; absolute and relative) is read from the
source. An import of a higher layer fails the test unless it is one of the
named exceptions in :data:`ALLOWED_UPWARD`, and an exception that no longer
occurs fails it too, so the list cannot rot.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import networkx as nx
import pytest

from pcn_planner.core import layers
from pcn_planner.core.layers import LAYERS, SOLVERS_MAY_IMPORT, ImportEdge, import_edges, layer_of, module_level

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURE_DOC = REPO / "docs" / "architecture.md"

#: Scope name, in :data:`ALLOWED_UPWARD`, of an import under ``if TYPE_CHECKING:`` at module level.
TYPE_CHECKING_BLOCK = "TYPE_CHECKING"

#: The upward imports allowed, by (importing module, function qualname, imported module): each a
#: lazy delegation from a result type to the layer that can draw or write it, with its reason.
ALLOWED_UPWARD: dict[tuple[str, str, str], str] = {
    ("pcn_planner.model.plan", "Plan.explore", "pcn_planner.outputs.maps.plan_map"):
        "notebook convenience: a plan draws itself with the plan map",
    ("pcn_planner.model.plan", "Plan.explore", "pcn_planner.scoring.scorecard"):
        "notebook convenience: the plan map draws a scorecard, so explore() scores the plan first",
    ("pcn_planner.model.plan", TYPE_CHECKING_BLOCK, "pcn_planner.outputs.maps.offline"):
        "annotation only: Plan.explore() returns an OfflineMap",
    ("pcn_planner.optimise", "Result.write", "pcn_planner.outputs.run"):
        "convenience: a result writes its own run folder",
    ("pcn_planner.scoring.scorecard", "Scorecard.write", "pcn_planner.outputs.run"):
        "convenience: a scorecard writes its own run folder",
    ("pcn_planner.optimise", "Result._repr_html_", "pcn_planner.outputs.maps.plan_map"):
        "notebook display: a result shows its plan map",
}


def _key(edge: ImportEdge) -> tuple[str, str, str]:
    scope = edge.scope or (TYPE_CHECKING_BLOCK if edge.type_checking else "<module>")
    return edge.importer, scope, edge.imported


@pytest.fixture(scope="module")
def edges() -> list[ImportEdge]:
    return import_edges(REPO)


def test_every_module_has_a_layer() -> None:
    unplaced = []
    for module in layers.module_files(REPO):
        try:
            layer_of(module)
        except ValueError as exc:
            unplaced.append(str(exc))
    assert not unplaced, "modules with no layer:\n" + "\n".join(unplaced)


def test_no_import_points_up_the_layers(edges: list[ImportEdge]) -> None:
    bad = [e.describe() for e in edges if e.upward and _key(e) not in ALLOWED_UPWARD]
    assert not bad, (f"{len(bad)} import(s) point up the layer order {' < '.join(LAYERS)} "
                     "(move the code down, or the import into the layer above):\n" + "\n".join(bad))


def test_allowed_upward_imports_still_occur_and_stay_lazy(edges: list[ImportEdge]) -> None:
    upward = {_key(e) for e in edges if e.upward}
    stale = [f"{key}: {reason}" for key, reason in ALLOWED_UPWARD.items() if key not in upward]
    assert not stale, "allowed upward imports that no longer occur (delete them):\n" + "\n".join(stale)
    eager = [key for key in ALLOWED_UPWARD if key[1] == "<module>"]
    assert not eager, f"only lazy or TYPE_CHECKING imports may be allowed upward: {eager}"


def test_solvers_import_only_core_model_and_scoring(edges: list[ImportEdge]) -> None:
    bad = [e.describe() for e in edges
           if e.importer.split(".")[0] == "solvers" and e.imported.split(".")[0] == "pcn_planner"
           and e.imported_layer not in SOLVERS_MAY_IMPORT]
    assert not bad, (f"solvers may import only {', '.join(SOLVERS_MAY_IMPORT)} from pcn_planner:\n"
                     + "\n".join(bad))


def test_no_import_cycle_at_module_level(edges: list[ImportEdge]) -> None:
    runtime = module_level(edges)
    graph: nx.DiGraph[str] = nx.DiGraph()
    for e in runtime:
        graph.add_edge(e.importer, e.imported, where=f"{e.path}:{e.line}")
    cycles = sorted(nx.simple_cycles(graph))
    lines = []
    for cycle in cycles:
        hops = zip(cycle, [*cycle[1:], cycle[0]], strict=True)
        lines.append(" -> ".join([*cycle, cycle[0]]) + "  ("
                     + ", ".join(graph.edges[a, b]["where"] for a, b in hops) + ")")
    assert not cycles, "module-level import cycles:\n" + "\n".join(lines)


def test_imported_modules_exist(edges: list[ImportEdge]) -> None:
    known = set(layers.module_files(REPO))
    missing = [e.describe() for e in edges if e.imported not in known]
    assert not missing, "imports of modules that are not in the tree:\n" + "\n".join(missing)


def test_architecture_doc_lists_every_module_and_only_real_ones() -> None:
    """docs/architecture.md names every module with code (not docstring-only ``__init__``) and no ghost."""
    named = set(re.findall(r"`((?:pcn_planner|solvers)/[\w/]+\.py)`", ARCHITECTURE_DOC.read_text(encoding="utf-8")))
    files = {p.relative_to(REPO).as_posix(): p for p in layers.module_files(REPO).values()}

    def has_code(path: Path) -> bool:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)

    missing = sorted(f for f, p in files.items() if has_code(p) and f not in named)
    ghosts = sorted(named - set(files))
    assert not missing, f"modules missing from {ARCHITECTURE_DOC.name} (add one line each): {missing}"
    assert not ghosts, f"{ARCHITECTURE_DOC.name} names modules that do not exist: {ghosts}"


def test_layers_module_uses_the_standard_library_only() -> None:
    tree = ast.parse(Path(layers.__file__).read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)


def test_layer_of_places_the_facade_the_front_door_and_the_engine() -> None:
    assert layer_of("pcn_planner") == "cli"
    assert layer_of("pcn_planner.__main__") == "cli"
    assert layer_of("pcn_planner.optimise") == "solvers"
    assert layer_of("solvers") == layer_of("solvers.compact") == "solvers"
    assert layer_of("pcn_planner.outputs.maps.plan_map") == "outputs"
    assert layer_of("pcn_planner.core.layers") == "core"
    with pytest.raises(ValueError, match="no layer"):
        layer_of("pcn_planner.somewhere_new")
    with pytest.raises(ValueError, match="not a module"):
        layer_of("numpy")


def test_import_edges_reads_every_kind_of_import(tmp_path: Path) -> None:
    files = {
        "pcn_planner/__init__.py": "from pcn_planner.model.plan import Plan\n",
        "pcn_planner/model/__init__.py": "from . import plan\n",
        "pcn_planner/model/plan.py": textwrap.dedent("""\
            from typing import TYPE_CHECKING
            import numpy
            from ..core import errors
            from .problem import Bounds
            if TYPE_CHECKING:
                from pcn_planner.outputs.maps.offline import OfflineMap
            class Plan:
                def explore(self):
                    import pcn_planner.outputs.maps.plan_map as pm
                    def inner():
                        from pcn_planner.scoring import scorecard
            """),
        "pcn_planner/model/problem.py": "",
        "pcn_planner/core/__init__.py": "",
        "pcn_planner/core/errors.py": "",
        "pcn_planner/scoring/__init__.py": "",
        "pcn_planner/scoring/scorecard.py": "",
        "pcn_planner/outputs/maps/offline.py": "",
        "pcn_planner/outputs/maps/plan_map.py": "",
        "solvers/__init__.py": "from .master import solve\n",
        "solvers/master.py": "from pcn_planner.model.instance import Instance\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    got = {(e.importer, e.imported, e.line, e.lazy, e.scope, e.type_checking) for e in import_edges(tmp_path)}
    plan = "pcn_planner.model.plan"
    assert got == {
        ("pcn_planner", plan, 1, False, "", False),
        ("pcn_planner.model", plan, 1, False, "", False),
        (plan, "pcn_planner.core.errors", 3, False, "", False),
        (plan, "pcn_planner.model.problem", 4, False, "", False),
        (plan, "pcn_planner.outputs.maps.offline", 6, False, "", True),
        (plan, "pcn_planner.outputs.maps.plan_map", 9, True, "Plan.explore", False),
        (plan, "pcn_planner.scoring.scorecard", 11, True, "Plan.explore.<locals>.inner", False),
        ("solvers", "solvers.master", 1, False, "", False),
        ("solvers.master", "pcn_planner.model.instance", 1, False, "", False),
    }
