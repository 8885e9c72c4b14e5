"""Where things go: the block grid of a view, the ops of an expanded block, and how to judge a layout.

What it is for: `grid` places the drawn blocks (steps on a time x (layer, direction) grid, the other
blocks in dependency layers found with networkx around it); `dot_layout` asks Graphviz `dot` (a
proven layered layout: crossing minimisation, straight layers) to place a small graph such as the
ops of one block, with `layered_layout` (networkx layers, graph order inside a layer) when `dot`
is not installed; `crossings` counts edge crossings of a placement, the measure the benchmarks
and tests use to pick between them.

What it is not: it draws nothing and knows no cytoscape; positions are plain (x, y) in pixels.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

# Grid cell sizes in cytoscape pixels (a step block is drawn a little smaller than its cell).
CELL_W, CELL_H = 170, 100
BAND_MIN = 10  # steps per line of the unrolled grid before it wraps
OP_W, OP_H = 170, 56  # room per op of an expanded block
DOT_TIMEOUT_S = 5.0


def layers(edges: Iterable[tuple[Hashable, Hashable]], order: Mapping[Hashable, int]) -> dict:
    """Longest-path layer of every node of `order` (0 = sources).

    Edges going backwards in `order` (graph order, near-topological in TF graphs) are loops' back
    edges and are left out, so what remains is a DAG; networkx's topological generations are then
    the longest-path layering."""
    g = nx.DiGraph()
    g.add_nodes_from(order)
    g.add_edges_from((a, b) for a, b in edges if a != b and order[a] < order[b])
    out = {}
    for k, generation in enumerate(nx.topological_generations(g)):
        for node in generation:
            out[node] = k
    return out


def crossings(pos: Mapping[Hashable, tuple[float, float]], edges: Sequence[tuple]) -> int:
    """Pairs of straight edges that cross (edges sharing an end do not count)."""
    segs = [(pos[a], pos[b], a, b) for a, b in edges if a in pos and b in pos and a != b]
    n = 0
    for i in range(len(segs)):
        p1, p2, a1, b1 = segs[i]
        for j in range(i + 1, len(segs)):
            q1, q2, a2, b2 = segs[j]
            if {a1, b1} & {a2, b2}:
                continue
            if _cross(p1, p2, q1, q2):
                n += 1
    return n


def _cross(p1: tuple, p2: tuple, q1: tuple, q2: tuple) -> bool:
    def orient(a: tuple, b: tuple, c: tuple) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def layered_layout(n: int, pairs: Iterable[tuple[int, int]]) -> list[tuple[float, float]]:
    """(x, y) of nodes 0..n-1, left to right by layer, graph order inside a layer: the fallback
    when `dot` is missing."""
    level = layers(((a, b) for a, b in pairs if a < n and b < n), {i: i for i in range(n)})
    rows: dict[int, int] = defaultdict(int)
    out = []
    for i in range(n):
        out.append((level[i] * OP_W, rows[level[i]] * OP_H))
        rows[level[i]] += 1
    return out


def dot_available() -> bool:
    return shutil.which("dot") is not None


def dot_layout(
    n: int, pairs: Sequence[tuple[int, int]], *, rankdir: str = "LR"
) -> list[tuple[float, float]]:
    """(x, y) of nodes 0..n-1 placed by Graphviz `dot` (top-left origin, pixels); the networkx
    layering when `dot` is not installed or fails."""
    if n == 0:
        return []
    if not dot_available():
        return layered_layout(n, pairs)
    return list(_dot_cached(n, tuple(pairs), rankdir))


@functools.lru_cache(maxsize=256)
def _dot_cached(n: int, pairs: tuple[tuple[int, int], ...], rankdir: str) -> tuple:
    # Node boxes in inches at 72 dpi: the size an op is drawn, so dot spaces them correctly.
    w, h = (OP_W - 20) / 72, (OP_H - 16) / 72
    lines = [
        f"digraph G {{ rankdir={rankdir}; nodesep=0.15; ranksep=0.3;",
        f'node [shape=box, fixedsize=true, width={w:.2f}, height={h:.2f}, label=""];',
    ]
    lines += [f"n{i};" for i in range(n)]
    lines += [f"n{a} -> n{b};" for a, b in pairs if a != b and a < n and b < n]
    lines.append("}")
    try:
        done = subprocess.run(
            ["dot", "-Tplain"],
            input="\n".join(lines),
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return tuple(layered_layout(n, pairs))
    pos: dict[int, tuple[float, float]] = {}
    height = 0.0
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["graph"]:
            height = float(parts[3])
        elif parts[:1] == ["node"]:
            # plain output: inches, y up; flip to screen coordinates.
            pos[int(parts[1][1:])] = (float(parts[2]) * 72, (height - float(parts[3])) * 72)
    if len(pos) != n:
        return tuple(layered_layout(n, pairs))
    return tuple(pos[i] for i in range(n))


def grid(
    drawn: Mapping[str, Mapping[str, Any]],
    edges: Iterable[tuple[str, str]],
    rows: Sequence[tuple[int, str]],
    n_groups: int,
    group: int,
    n_cols: int | None = None,
) -> dict[str, tuple[int, int]]:
    """(column, row) of every drawn block: steps on a time x (layer, direction) grid, the rest
    layered around it in dependency order (blocks feeding the steps left, the rest right).

    A long time axis is wrapped into bands of `n_cols` steps stacked vertically (like lines of
    text), so a panel keeps a readable aspect ratio instead of a thin strip; `n_cols` sets the
    steps per band (the view picks it so that the labels stay legible)."""
    row_of = {r: i for i, r in enumerate(rows)}
    n_rows = max(len(rows), 1)
    if n_groups and n_cols:
        n_cols = min(n_cols, n_groups)
    elif n_groups:
        # Band width for a roughly panel-shaped grid; short sequences stay on one line.
        square = math.ceil(math.sqrt(n_groups * (n_rows + 1) * CELL_H / CELL_W * 1.4))
        n_cols = min(n_groups, max(square, BAND_MIN))
    else:
        n_cols = 0
    cells: dict[str, tuple[int, int]] = {}
    steps = "__steps__"
    first: dict[str, int] = {}
    for bid, d in drawn.items():
        if d["kind"] == "step":
            band, col = divmod(d["step"] // group, n_cols)
            cells[bid] = (col, band * (n_rows + 1) + row_of[(d["layer"], d["direction"])])
            first[steps] = min(first.get(steps, d["first"]), d["first"])
        else:
            first[bid] = d["first"]
    merged = {(steps if a in cells else a, steps if b in cells else b) for a, b in edges}
    layer = layers(merged, first)
    steps_layer = layer.get(steps)
    ordered = [b for b in sorted(layer, key=lambda b: (layer[b], first[b], b)) if b != steps]
    if steps_layer is None:  # no unrolled steps (a loop graph): one column per dependency layer
        by_col: dict[int, list[str]] = defaultdict(list)
        for bid in ordered:
            by_col[layer[bid]].append(bid)
        for col, bids in by_col.items():
            for i, bid in enumerate(bids):
                cells[bid] = (col, i)
        return cells
    # Blocks feeding the steps stack in compact columns on the left, the head, loss and training
    # blocks on the right: the panel is about T columns wide, not T + one column per layer.
    per_col = max(max((r for _, r in cells.values()), default=0) + 1, 4)
    before = [b for b in ordered if layer[b] < steps_layer]
    after = [b for b in ordered if layer[b] > steps_layer]
    below = [b for b in ordered if layer[b] == steps_layer]
    n_before_cols = math.ceil(len(before) / per_col)
    for i, bid in enumerate(before):
        cells[bid] = (i // per_col - n_before_cols, i % per_col)
    for i, bid in enumerate(after):
        cells[bid] = (n_cols + i // per_col, i % per_col)
    bottom = max((r for _, r in cells.values()), default=0) + 2
    for i, bid in enumerate(below):
        cells[bid] = (i, bottom)
    return cells


def offsets(indexes: Iterable[int], size: Mapping[int, int]) -> dict[int, int]:
    """Pixel offset of each grid index; an expanded block widens its whole column/row, so the
    rest of the graph moves aside instead of being covered."""
    out, pos = {}, 0
    for i in sorted(set(indexes)):
        out[i] = pos
        pos += size[i]
    return out
