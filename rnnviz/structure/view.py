"""A view of a partition: what one panel draws, with some blocks expanded, never over the element cap.

What it is for: `make_view(partition, expanded, facts=...)` picks how many time steps one drawn
block covers (step ranges when T is large, so the collapsed view stays under `COLLAPSED_BUDGET`
elements), places the blocks (`layout.grid`), and fills the expanded blocks with their cell, loop
or op view (`cellview`); the grid makes room for an expanded block (its column and row widen), so
the rest of the graph stays in place and clickable. `toggle` is the click rule: a collapsed block
opens on its semantic view (level 1), a second click shows its ops (level 2), a third closes it.

What it is not: it knows no cytoscape (app/figures.py turns a View into elements).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rnnviz.structure import cellview, layout
from rnnviz.structure.facts import Facts
from rnnviz.structure.partition import Partition

MAX_ELEMENTS = 1500  # nodes + edges sent to the browser in any view (dash-cytoscape stays fluid)
COLLAPSED_BUDGET = 900  # the collapsed view's share; the rest is room for expanded blocks
EXPAND_MAX_OPS = cellview.MAX_OPS
OPS = "@ops"  # suffix of an expanded id at level 2 (ops): "L0/fw/t5@ops"
BLOCK_KINDS = ("step", "role", "loop")
SHORT_CHARS = 9  # a far-out label longer than this would not fit a block at the fitted zoom
ROLE_COL_W = 240  # columns holding role and loop blocks are wider: their names are longer
PAD = 30  # margin inside an expanded block
TITLE = 90  # room above an expanded block for its title (a click target: nothing else there)
NODE_W, NODE_H = 170, 60  # the widest inner node (app/figures.py draws them 150-170 x 46-60)
_SHORT_ROLES = {"initialization": "init", "save_restore": "save", "(other scopes)": "other"}


@dataclass(frozen=True)
class View:
    """What one panel draws: nodes and edges with positions, and how it was reduced to fit."""

    partition: Partition = field(repr=False, compare=False)
    expanded: frozenset[str]
    group: int  # time steps per step block (1: one block per step)
    nodes: tuple[dict[str, Any], ...]
    edges: tuple[dict[str, Any], ...]
    hidden_edges: int = 0  # edges left out to respect MAX_ELEMENTS

    @property
    def n_elements(self) -> int:
        return len(self.nodes) + len(self.edges)

    def block_ids(self) -> list[str]:
        """Ids of the collapsed-or-expanded blocks drawn (not their ops)."""
        return [n["id"] for n in self.nodes if n["kind"] in BLOCK_KINDS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "expanded": sorted(self.expanded),
            "group": self.group,
            "nodes": list(self.nodes),
            "edges": list(self.edges),
            "hidden_edges": self.hidden_edges,
            "n_elements": self.n_elements,
        }


def _coarse_map(part: Partition, group: int) -> dict[str, str]:
    """Fine block id -> drawn block id when steps are grouped `group` at a time."""
    out = {}
    for bid, b in part.blocks.items():
        if b.kind == "step" and group > 1:
            lo = (b.step // group) * group
            hi = min(lo + group, part.time_steps) - 1
            out[bid] = f"L{b.layer}/{b.direction}/t{lo}-{hi}"
        else:
            out[bid] = bid
    return out


def _coarse_edges(part: Partition, cmap: Mapping[str, str]) -> dict[tuple[str, str], int]:
    agg: dict[tuple[str, str], int] = defaultdict(int)
    for (a, b), n in part.edges.items():
        ca, cb = cmap[a], cmap[b]
        if ca != cb:
            agg[(ca, cb)] += n
    return agg


def _choose_group(part: Partition) -> tuple[int, dict[str, str], dict[tuple[str, str], int]]:
    """The smallest steps-per-block that keeps the collapsed view within COLLAPSED_BUDGET."""
    group = 1
    while True:
        cmap = _coarse_map(part, group)
        agg = _coarse_edges(part, cmap)
        n = len(set(cmap.values())) + len(agg)
        if n <= COLLAPSED_BUDGET or group >= max(part.time_steps, 1):
            return group, cmap, agg
        # elements scale ~ with the number of step groups: jump straight near the target.
        groups = math.ceil(part.time_steps / group)
        fixed = len(part.blocks) - len(part.rows) * part.time_steps
        per_group = max((n - fixed) / groups, 1.0)
        target = max(int((COLLAPSED_BUDGET - fixed) / per_group), 1)
        group = max(group + 1, math.ceil(part.time_steps / target))


def _coarse_block(part: Partition, cid: str, fine: list[str]) -> dict[str, Any]:
    """Display data of a drawn block (a fine block, or a range of step blocks)."""
    first = part.blocks[fine[0]]
    n_ops = sum(part.blocks[f].n_ops for f in fine)
    if first.kind == "step" and len(fine) > 1:
        steps = [part.blocks[f].step for f in fine]
        label = f"L{first.layer} {first.direction} t{min(steps)}-{max(steps)}\n{n_ops} ops"
        lo = min(steps)
    else:
        label, lo = first.label, first.step
    return {
        "id": cid,
        "kind": first.kind,
        "label": label,
        "n_ops": n_ops,
        "layer": first.layer,
        "direction": first.direction,
        "step": lo,
        "role": first.role,
        "first": min(part.blocks[f].first for f in fine),
        "fine": len(fine),
    }


def _short_label(d: Mapping[str, Any]) -> str:
    """The far-out label: what still fits a block when the whole graph is in view."""
    if d["kind"] == "step":
        return d["id"].rsplit("/", 1)[-1]
    if d["kind"] == "loop":
        return "while loop"
    role = str(d.get("role") or "").removeprefix("forward/")
    role = _SHORT_ROLES.get(role, role)
    return role if len(role) <= SHORT_CHARS else role[: SHORT_CHARS - 1] + "…"


def level_of(expanded: Iterable[str], cid: str) -> int:
    """0 collapsed, 1 semantic view, 2 ops."""
    current = set(expanded)
    return 2 if cid + OPS in current else 1 if cid in current else 0


def _contents(
    part: Partition,
    cid: str,
    d: Mapping[str, Any],
    fines: list[str],
    level: int,
    facts: Facts,
    per_block: int,
    focus: str | None = None,
):
    """(nodes, edges, width, height) inside expanded block `cid`, positions relative to it."""
    ops: list[tuple[str, str]] = []
    pairs: list[tuple[int, int]] = []
    for fine in fines:
        block_ops, block_pairs = part.block_ops(fine)
        off = len(ops)
        ops.extend(block_ops)
        pairs.extend((off + a, off + c) for a, c in block_pairs)
    if level == 1 and d["kind"] == "loop":
        block = part.blocks[fines[0]]
        loop = facts.loops.get(cid.removeprefix("loop/")) or {
            "name": cid.removeprefix("loop/"),
            "kind": "v2_while" if block.detail else "v1_frame",
            "body_function": block.detail or None,
        }
        return cellview.loop_view(cid, loop, ops, facts)
    if level == 1 and d["kind"] == "step" and len(fines) == 1:
        semantic = cellview.step_view(cid, d, ops, facts)
        if semantic is not None:
            return semantic
    ops, pairs = _bring_forward(ops, pairs, focus, per_block)
    return cellview.ops_view(cid, ops, pairs, facts, per_block)


def _bring_forward(
    ops: list[tuple[str, str]], pairs: list[tuple[int, int]], focus: str | None, shown: int
) -> tuple[list[tuple[str, str]], list[tuple[int, int]]]:
    """Swap the focused op into the first `shown` ops (the ones drawn) if it is past them."""
    at = next((k for k, (name, _) in enumerate(ops) if name == focus), None)
    if at is None or at < shown or shown < 1:
        return ops, pairs
    slot = shown - 1
    ops = list(ops)
    ops[slot], ops[at] = ops[at], ops[slot]
    swap = {slot: at, at: slot}
    return ops, [(swap.get(a, a), swap.get(b, b)) for a, b in pairs]


def _extent(nodes: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) the inner nodes cover, with their drawn sizes (NODE_W x NODE_H)."""
    placed = [n for n in nodes if "x" in n]
    if not placed:
        return (0.0, 0.0, 0.0, 0.0)
    half_w = [(n.get("w") or NODE_W) / 2 for n in placed]
    return (
        min(n["x"] - h for n, h in zip(placed, half_w, strict=True)),
        min(n["y"] for n in placed) - NODE_H / 2,
        max(n["x"] + h for n, h in zip(placed, half_w, strict=True)),
        max(n["y"] for n in placed) + NODE_H,  # room for a 2-line label of the last row
    )


def has_semantic_view(d: Mapping[str, Any]) -> bool:
    return d.get("kind") in ("step", "loop")


def find_ops(part: Partition, pattern: str, limit: int = 20) -> list[tuple[str, str, str]]:
    """(op name, op type, drawn block id) of the ops whose name matches the regex `pattern`
    (case-insensitive), main graph first, then loop bodies. Raises re.error on a bad pattern."""
    rx = re.compile(pattern, re.IGNORECASE)
    _, cmap, _ = _choose_group(part)
    ids = list(part.blocks)
    out = []
    for i, name in enumerate(part.names):
        if rx.search(name):
            out.append((name, part.ops[i], cmap[ids[int(part.node_block[i])]]))
            if len(out) >= limit:
                return out
    for bid, (ops, _) in part.bodies.items():
        for name, op in ops:
            if rx.search(name):
                out.append((name, op, cmap[bid]))
                if len(out) >= limit:
                    return out
    return out


def make_view(
    part: Partition,
    expanded: Iterable[str] = (),
    *,
    facts: Facts | None = None,
    max_elements: int = MAX_ELEMENTS,
    focus: str | None = None,
) -> View:
    """The drawable view of a partition with some blocks expanded (ids, or id + OPS for ops).
    `focus`: an op name that must be drawn if its block shows its ops (a search hit)."""
    facts = facts or Facts()
    expanded = list(expanded)
    group, cmap, agg = _choose_group(part)
    fine_of: dict[str, list[str]] = defaultdict(list)
    for fine, coarse in cmap.items():
        fine_of[coarse].append(fine)
    for fines in fine_of.values():
        fines.sort(key=lambda f: (part.blocks[f].step or 0, f))
    drawn = {cid: _coarse_block(part, cid, fines) for cid, fines in fine_of.items()}
    levels = {cid: level_of(expanded, cid) for cid in drawn}
    opened = sorted(c for c, lv in levels.items() if lv)
    n_groups = math.ceil(part.time_steps / group) if part.unrolled else 0
    cells = layout.grid(drawn, agg, part.rows, n_groups, group)

    base = len(drawn) + len(agg)
    room = max(max_elements - base, 0)
    # Each shown op costs about one node and ~1.5 edges.
    per_block = min(EXPAND_MAX_OPS, room // max(3 * len(opened), 1))
    contents = {}
    col_w: dict[int, int] = defaultdict(lambda: layout.CELL_W)
    row_h: dict[int, int] = defaultdict(lambda: layout.CELL_H)
    step_cols = {cells[c][0] for c, d in drawn.items() if d["kind"] == "step"}
    for cid, d in drawn.items():
        if d["kind"] != "step" and cells[cid][0] not in step_cols:
            col_w[cells[cid][0]] = ROLE_COL_W
    for cid in opened:
        inner = _contents(part, cid, drawn[cid], fine_of[cid], levels[cid], facts, per_block, focus)
        col, row = cells[cid]
        box = _extent(inner[0])
        col_w[col] = max(col_w[col], int(box[2] - box[0]) + 2 * PAD)
        row_h[row] = max(row_h[row], int(box[3] - box[1]) + 2 * PAD + TITLE)
        contents[cid] = (inner[0], inner[1], box)

    xs = layout.offsets((c for c, _ in cells.values()), col_w)
    ys = layout.offsets((r for _, r in cells.values()), row_h)
    nodes: list[dict[str, Any]] = []
    edge_list: list[dict[str, Any]] = []
    for cid in sorted(drawn, key=lambda c: (cells[c][0], cells[c][1], c)):
        d = dict(drawn[cid])
        col, row = cells[cid]
        d["x"], d["y"] = xs[col], ys[row]
        d["short"] = _short_label(d)
        d["expanded"] = levels[cid] > 0
        d["level"] = levels[cid]
        nodes.append(d)
        if cid not in contents:
            continue
        inner_nodes, inner_edges, box = contents[cid]
        # The grid cell's corner (block centres sit half a default cell in), then the margin.
        x0 = xs[col] - layout.CELL_W / 2 + PAD - box[0]
        y0 = ys[row] - layout.CELL_H / 2 + PAD + TITLE - box[1]
        for n in inner_nodes:
            n = dict(n)
            if "x" in n:
                n["x"], n["y"] = x0 + n["x"], y0 + n["y"]
            n.setdefault("block", cid)
            nodes.append(n)
        edge_list.extend(inner_edges)
    block_edges = [
        {"id": f"{a}->{b}", "source": a, "target": b, "n": n} for (a, b), n in sorted(agg.items())
    ]
    # Block edges first: they carry the picture; inner edges are the first to go past the cap.
    all_edges = block_edges + edge_list
    budget = max(max_elements - len(nodes), 0)
    hidden = max(len(all_edges) - budget, 0)
    return View(
        partition=part,
        expanded=frozenset(e for e in expanded if e.removesuffix(OPS) in drawn),
        group=group,
        nodes=tuple(nodes),
        edges=tuple(all_edges[:budget]),
        hidden_edges=hidden,
    )


def toggle(expanded: Iterable[str], clicked: str, kind: str | None = None) -> list[str]:
    """The expanded ids after a click, in click order. A click on a collapsed block opens its
    semantic view (ops directly for blocks without one), on an open block goes one level deeper,
    on a block showing its ops closes it. A click on anything inside a block (an op, a gate) only
    selects it: the expansion does not change."""
    current = list(expanded)
    if "::" in clicked:
        return current
    semantic = kind in (None, "step", "loop")
    if clicked + OPS in current:
        return [b for b in current if b != clicked + OPS]
    if clicked in current:
        rest = [b for b in current if b != clicked]
        return [*rest, clicked + OPS] if semantic else rest
    return [*current, clicked if semantic else clicked + OPS]


def expand(view: View, block_id: str, *, facts: Facts | None = None) -> View:
    """A new view with `block_id` one level deeper (see `toggle`)."""
    kind = next((n["kind"] for n in view.nodes if n["id"] == block_id), None)
    return make_view(view.partition, toggle(view.expanded, block_id, kind), facts=facts)


def collapse(view: View, block_id: str, *, facts: Facts | None = None) -> View:
    """A new view with `block_id` drawn as one block again."""
    keep = [e for e in view.expanded if e.removesuffix(OPS) != block_id]
    return make_view(view.partition, keep, facts=facts)
