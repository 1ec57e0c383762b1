"""Draw the layers of pcn-planner and the measured imports between them: docs/images/architecture.png.

The layer order, the modules and the import arrows all come from :mod:`pcn_planner.core.layers`
(the same source the layer test checks), so the picture is redrawn, never edited::

    python docs/make_architecture.py            # writes docs/images/architecture.png
    python docs/make_architecture.py out.png    # or anywhere else

Left of the stack: downward imports between ``pcn_planner`` layers, coloured by the importing
layer. Right of it: the allowed lazy upward imports (red, dashed), and the separate ``solvers``
package with what it imports and who imports it. Each arrow is labelled with its number of
import statements.
"""

from __future__ import annotations

import io
import sys
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import matplotlib  # noqa: E402  (after the path set-up, so the repository's package is drawn)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from PIL import Image  # noqa: E402  (a dependency of matplotlib)

from pcn_planner.core.layers import LAYERS, ImportEdge, import_edges, layer_of, module_files  # noqa: E402

OUT = REPO / "docs" / "images" / "architecture.png"
SOLVERS_PKG = "solvers package"

# Geometry, in data units (1 unit = 1 inch at the figure size below).
BOX_W, ROW_H, ROW_GAP = 6.2, 0.78, 0.30
BULGE = 0.42  # arc bulge per row spanned
SOLVER_BOX_W, SOLVER_GAP = 3.3, 1.9

RED, PURPLE = "#c0392b", "#6a3d9a"
#: Line colour of each importing layer's arcs (colour-blind-safe where it matters; matched by a stripe on its box).
INK = {"data": "#a07800", "geography": "#009e73", "model": "#e69f00", "scoring": "#8c564b",
       "solvers": "#cc79a7", "outputs": "#0072b2", "batch": "#56b4e9", "cli": "#333333"}
FILL = {"core": "#eef3f8", "data": "#eef6ee", "geography": "#f1f7e6", "model": "#fff6e0",
        "scoring": "#fdeee3", "solvers": "#f4ecf7", "outputs": "#e8f4f6", "batch": "#f0f0f0",
        "cli": "#e9e9f4"}


def group(module: str) -> str:
    """The box a module is drawn in: its layer, or the separate solvers package."""
    return SOLVERS_PKG if module.split(".")[0] == "solvers" else layer_of(module)


def module_list(modules: list[str], prefix: str) -> str:
    """Short names under ``prefix``, sub-packages folded as ``maps/{a, b}``."""
    top: list[str] = []
    subs: dict[str, list[str]] = defaultdict(list)
    names = {m[len(prefix):] for m in modules if m.startswith(prefix)}
    for name in sorted(names):
        head, _, rest = name.partition(".")
        if rest:
            subs[head].append(rest)
        elif head:
            top.append(head)
    parts = [f"{h}/{{{', '.join(subs[h])}}}" if h in subs else h for h in top]
    parts += [f"{h}/{{{', '.join(v)}}}" for h, v in subs.items() if h not in top]
    return " · ".join(parts)


def box_text(layer: str, modules: list[str]) -> str:
    """The module line(s) of a layer box."""
    if layer == "cli":
        return "pcn_planner (the public API facade) · cli · __main__"
    if layer == "solvers":
        return "optimise (the engine's front door: imports the solvers package)"
    return module_list(modules, f"pcn_planner.{layer}.")


def arc(ax: plt.Axes, x: float, ya: float, yb: float, bulge: float, colour: str, lw: float,
        dashed: bool, label: str) -> None:
    """A Bezier arc from ``(x, ya)`` to an arrowhead at ``(x, yb)``, bulging by ``bulge`` (negative: left)."""
    path = MplPath([(x, ya), (x + bulge, ya), (x + bulge, yb), (x, yb)],
                   [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4])
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=8 + 2 * lw, color=colour, lw=lw,
                                 ls=(0, (3, 2)) if dashed else "-", fill=False, shrinkA=0, shrinkB=0))
    ax.text(x + 0.75 * bulge, (ya + yb) / 2, label, ha="center", va="center", fontsize=7.8, color=colour,
            bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none"})


def port_order(row_rank: int, other_rank: int) -> tuple[int, int]:
    """Sort key of an arc's end on a row's edge, bottom to top, so that nested arcs do not cross.

    Arcs to rows below attach in the lower part, arcs to rows above in the upper part, and within
    each part the longer arcs attach nearer the middle (they enclose the shorter ones).
    """
    reach = other_rank - row_rank
    return (0, -reach) if reach < 0 else (1, -reach)


def draw(edges: list[ImportEdge], modules: list[str], out: Path) -> Path:
    """Draw the picture and write it to ``out`` (PNG)."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    y0 = {layer: i * (ROW_H + ROW_GAP) for i, layer in enumerate(LAYERS)}  # bottom of each row
    by_layer: dict[str, list[str]] = defaultdict(list)
    for m in modules:
        by_layer[group(m)].append(m)

    pairs: Counter[tuple[str, str]] = Counter()
    for e in edges:
        a, b = group(e.importer), group(e.imported)
        if a != b:
            pairs[a, b] += 1
    inner = sorted(((a, b) for a, b in pairs if SOLVERS_PKG not in (a, b)), key=lambda p: (rank[p[0]], rank[p[1]]))
    down = [p for p in inner if rank[p[1]] < rank[p[0]]]
    up = [p for p in inner if rank[p[1]] > rank[p[0]]]
    max_span = max((rank[a] - rank[b] for a, b in down), default=1)
    left = -(0.75 * BULGE * max_span + 0.5)
    solver_x = BOX_W + SOLVER_GAP
    right = solver_x + SOLVER_BOX_W + 0.25
    top = y0[LAYERS[-1]] + ROW_H + 0.75

    fig = plt.figure(figsize=(right - left, top + 0.95), dpi=110)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, right)
    ax.set_ylim(-0.95, top)
    ax.axis("off")

    # The pcn_planner frame and the layer boxes, bottom first.
    ax.add_patch(FancyBboxPatch((-0.12, -0.12), BOX_W + 0.24, y0[LAYERS[-1]] + ROW_H + 0.24,
                                boxstyle="round,pad=0,rounding_size=0.08", fill=False, ec="#999999", ls=(0, (4, 3))))
    ax.text(BOX_W + 0.12, y0[LAYERS[-1]] + ROW_H + 0.18, "pcn_planner/", ha="right", va="bottom",
            fontsize=9.5, color="#777777", family="monospace")
    chars = int(BOX_W * 13.5)
    for layer in LAYERS:
        ax.add_patch(FancyBboxPatch((0, y0[layer]), BOX_W, ROW_H, boxstyle="round,pad=0,rounding_size=0.06",
                                    fc=FILL[layer], ec="#555555", lw=1.0))
        if layer in INK:  # the colour of this layer's import arcs
            ax.add_patch(Rectangle((0.0, y0[layer] + 0.06), 0.07, ROW_H - 0.12, fc=INK[layer], ec="none"))
        ax.text(0.14, y0[layer] + ROW_H - 0.12, f"{rank[layer] + 1}  {layer}", ha="left", va="top",
                fontsize=11.5, weight="bold")
        body = textwrap.fill(box_text(layer, by_layer[layer]), chars)
        ax.text(0.14, y0[layer] + ROW_H - 0.40, body, ha="left", va="top", fontsize=8.6, family="monospace",
                linespacing=1.15)

    # Imports between pcn_planner layers: downward on the left, the allowed upward ones on the right.
    for side, arcs, edge_x, sign in (("left", down, 0.0, -1.0), ("right", up, BOX_W, 1.0)):
        ports: dict[str, list[tuple[tuple[int, int], int, str]]] = defaultdict(list)
        for i, (a, b) in enumerate(arcs):
            ports[a].append((port_order(rank[a], rank[b]), i, "out"))
            ports[b].append((port_order(rank[b], rank[a]), i, "in"))
        port_y: dict[tuple[int, str], float] = {}
        for row, items in ports.items():
            items.sort()
            lo, hi = (0.12, 0.62) if side == "right" else (0.1, 0.9)  # right: keep clear of the blue arrows
            for j, (_, i, end) in enumerate(items):
                port_y[i, end] = y0[row] + ROW_H * (lo + (hi - lo) * (j + 0.5) / len(items))
        for i, (a, b) in enumerate(arcs):
            n = pairs[a, b]
            span = abs(rank[a] - rank[b])
            arc(ax, edge_x, port_y[i, "out"], port_y[i, "in"], sign * BULGE * (span + 0.25), RED if side == "right"
                else INK[a], 0.7 + 0.28 * n ** 0.5, side == "right", str(n))

    # Right: the separate solvers package, in the solvers row.
    sy = y0["solvers"] - 0.35
    sh = ROW_H + 0.7
    ax.add_patch(FancyBboxPatch((solver_x, sy), SOLVER_BOX_W, sh, boxstyle="round,pad=0,rounding_size=0.06",
                                fc=FILL["solvers"], ec=PURPLE, lw=1.6))
    ax.text(solver_x + 0.12, sy + sh - 0.1, "solvers/  (top-level package)", ha="left", va="top",
            fontsize=10.5, weight="bold", color=PURPLE)
    ax.text(solver_x + 0.12, sy + sh - 0.38, textwrap.fill(module_list(by_layer[SOLVERS_PKG], "solvers."),
                                                           int(SOLVER_BOX_W * 13.5)),
            ha="left", va="top", fontsize=8.2, family="monospace", linespacing=1.15)
    ax.text(solver_x + SOLVER_BOX_W / 2, sy - 0.08, "may import only core, model, scoring", ha="center",
            va="top", fontsize=8, style="italic", color=PURPLE)

    arrow = {"arrowstyle": "-|>", "color": PURPLE, "lw": 1.1, "mutation_scale": 9, "shrinkA": 0, "shrinkB": 0}
    into = sorted((a for a, b in pairs if b == SOLVERS_PKG), key=lambda r: rank[r])
    for j, a in enumerate(into):
        ya = y0[a] + ROW_H * 0.5
        if a == "solvers":
            ax.annotate("", xy=(solver_x, ya), xytext=(BOX_W, ya), arrowprops=arrow)
            ax.text(solver_x - 0.3, ya + 0.04, str(pairs[a, SOLVERS_PKG]), ha="center", va="bottom",
                    fontsize=7.5, color=PURPLE)
            continue
        x = solver_x + 0.5 + 0.45 * j
        ax.plot([BOX_W, x], [ya, ya], color=PURPLE, lw=1.1)
        ax.annotate("", xy=(x, sy + sh), xytext=(x, ya), arrowprops=arrow)
        ax.text(x, (ya + sy + sh) / 2, str(pairs[a, SOLVERS_PKG]), ha="center", va="center", fontsize=7.5,
                color=PURPLE, bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none"})
    out_of = sorted((b for a, b in pairs if a == SOLVERS_PKG), key=lambda r: -rank[r])
    for b in out_of:
        x = solver_x + 0.5 + 0.45 * (rank["solvers"] - rank[b])  # farther rows: further right, no crossings
        yb = y0[b] + ROW_H * 0.5
        ax.plot([x, x], [sy, yb], color=PURPLE, lw=1.1)
        ax.annotate("", xy=(BOX_W, yb), xytext=(x, yb), arrowprops=arrow)
        ax.text(x, (sy + yb) / 2 - 0.15, str(pairs[SOLVERS_PKG, b]), ha="center", va="center", fontsize=7.5,
                color=PURPLE, bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none"})

    # Title and legend.
    ax.text(left + 0.15, top - 0.12, "pcn-planner layers: a module imports its own layer and those below",
            ha="left", va="top", fontsize=13, weight="bold")
    legend = [(INK["outputs"], "-", "downward imports (coloured by the importing layer's stripe)"),
              (RED, (0, (3, 2)), "allowed lazy upward imports (named in tests/test_layers.py)"),
              (PURPLE, "-", "the solvers package's imports")]
    lx = left + 0.15
    for colour, style, text in legend:
        ax.plot([lx, lx + 0.35], [-0.45, -0.45], color=colour, lw=1.4, ls=style)
        ax.text(lx + 0.45, -0.45, text, ha="left", va="center", fontsize=8.5)
        lx += 0.8 + 0.075 * len(text)
    ax.text(left + 0.15, -0.78, f"Numbers: import statements (module level, in functions, TYPE_CHECKING), "
            f"measured from the source by pcn_planner.core.layers: {len(edges)} in all, {len(modules)} modules. "
            "Redraw: python docs/make_architecture.py",
            ha="left", va="center", fontsize=7.8, color="#555555")

    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    # A 256-colour palette keeps the file commit-sized (the drawing has few colours) with no visible loss.
    Image.open(buffer).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def main(argv: list[str]) -> int:
    """Write the picture to the path given, or to docs/images/architecture.png."""
    out = Path(argv[0]) if argv else OUT
    path = draw(import_edges(REPO), list(module_files(REPO)), out)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
