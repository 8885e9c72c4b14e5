"""A view of a partition: what one panel draws, with some blocks expanded, never over the element cap.

What it is for: `make_view(partition, expanded, facts=...)` picks how many time steps one drawn
block covers (step ranges when T is large) so that the collapsed view stays under
`COLLAPSED_BUDGET` elements and every block's far-out label is legible (>= 11 px) when the view is
fitted into the panel (`PANEL_W` x `PANEL_H`, a 1600 x 1000 window): the range size, the number of
bands the time axis wraps into and the width of the columns are chosen together (`_plan`). Inside
each step range it places finer ranges (or single steps), drawn by the browser only once zoomed in
far enough to read them (semantic zoom: ranges far out, finer ranges and steps nearer, ops of an
opened block closest). It places the blocks (`layout.grid`), and fills the expanded blocks with
their cell, loop or op view (`cellview`); the grid makes room for an expanded block (its column
and row widen), so the rest of the graph stays in place and clickable. `toggle` is the click rule: a collapsed block
opens on its semantic view (level 1), a second click shows its ops (level 2), a third closes it.

What it is not: it knows no cytoscape (app/figures.py turns a View into elements).
"""

from __future__ import annotations

import math
import re
import weakref
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
# Legibility at the first view: explorer.js draws a zoomed-out label FAR_PX high on screen when
# it fits its box (widest line x FAR_PX x CHAR_W <= FIT_SLACK x box width, lines x FAR_PX x LINE_H
# <= box height); the view is sized so that every collapsed block's short label fits when fitted.
PANEL_W, PANEL_H = 755, 560  # the cytoscape panel of a 1600 x 1000 window (app/panels.py)
SIZE_MARGIN = 1.03  # labels get this much more room than explorer.js's estimate asks for
FIT_PAD = 12  # the panel's fit padding (app/panels.py)
FAR_PX, CHAR_W, LINE_H, FIT_SLACK = 12, 0.6, 1.2, 0.96  # the same estimate as explorer.js
BLOCK_W = {"step": 150, "role": 210, "loop": 210}  # drawn sizes (app/figures.py STYLESHEET)
BLOCK_H = {"step": 76, "role": 76, "loop": 90}
MAX_FIT_ZOOM = 1.5  # past this the panel is not the limit: no need to look further
MAX_ROW_SCALE = 3.0  # rows of range blocks with finer ranges inside grow at most this much
SUB_MARGIN = 6  # inside a step range box, around its finer ranges (a frame left to click)
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
    sub_group: int = 1  # time steps per finer range drawn inside a range block when zoomed in

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
            "sub_group": self.sub_group,
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


def _budget_group(part: Partition) -> tuple[int, dict[str, str], dict[tuple[str, str], int]]:
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


@dataclass(frozen=True)
class _Plan:
    """How the collapsed view is drawn: steps per block, steps per finer range inside a range
    block, the step columns per band, and the zoom the block widths are made for."""

    group: int
    sub_group: int  # == group: no finer ranges
    n_cols: int | None  # None: layout.grid's own band width
    zoom: float
    row_scale: float  # rows this many CELL_H high (> 1: room for the finer ranges)
    cmap: dict[str, str] = field(repr=False)
    agg: dict[tuple[str, str], int] = field(repr=False)


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _nice_groups(start: int, steps: int) -> list[int]:
    """Range sizes to try, smallest first: `start`, then round numbers (t0–24, t25–49...)."""
    out = {start, max(steps, 1)}
    scale = 1
    while scale <= steps:
        out.update(int(m * scale) for m in (1, 2, 2.5, 4, 5, 8) if m * scale == int(m * scale))
        scale *= 10
    return sorted(g for g in out if start <= g <= max(steps, start))


def _drawn_blocks(
    part: Partition, cmap: Mapping[str, str]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    fine_of: dict[str, list[str]] = defaultdict(list)
    for fine, coarse in cmap.items():
        fine_of[coarse].append(fine)
    for fines in fine_of.values():
        fines.sort(key=lambda f: (part.blocks[f].step or 0, f))
    drawn = {cid: _coarse_block(part, cid, fines) for cid, fines in fine_of.items()}
    for d in drawn.values():
        d["short"] = _short_label(d)
    return drawn, fine_of


def far_width(text: str, zoom: float) -> float:
    """Model width a label needs to be drawn FAR_PX high on screen at `zoom` (explorer.js)."""
    widest = max((len(line) for line in str(text).split("\n")), default=0)
    return widest * FAR_PX * CHAR_W * SIZE_MARGIN / (zoom * FIT_SLACK)


def _default_col_w(drawn: Mapping[str, Mapping[str, Any]], cells) -> dict[int, int]:
    step_cols = {cells[c][0] for c, d in drawn.items() if d["kind"] == "step"}
    col_w: dict[int, int] = defaultdict(lambda: layout.CELL_W)
    for cid, d in drawn.items():
        if d["kind"] != "step" and cells[cid][0] not in step_cols:
            col_w[cells[cid][0]] = ROLE_COL_W
    return col_w


def _widths(drawn, cells, zoom: float) -> tuple[dict[int, int], dict[int, int], dict[str, int]]:
    """(default column widths, column widths, block widths) so that every collapsed block's short
    label fits its box at `zoom`."""
    base = _default_col_w(drawn, cells)
    col_w = defaultdict(lambda: layout.CELL_W, base)
    widths = {}
    for cid, d in drawn.items():
        # Each column as wide as its own labels need (one width for all would cost legibility:
        # `t0–24` needs less room than `t175–199`).
        w = max(BLOCK_W[d["kind"]], math.ceil(far_width(d["short"], zoom)) + 2)
        widths[cid] = w
        if w > BLOCK_W[d["kind"]]:
            col = cells[cid][0]
            col_w[col] = max(col_w[col], w + 24)
    return base, col_w, widths


def _centre_x(col: int, xs, col_w) -> float:
    """A collapsed block's x: the centre of its column (as wide as the labels need; a step
    column's centre is where the grid always put it, a wider role column's is further right)."""
    return xs[col] - layout.CELL_W / 2 + col_w[col] / 2


def _step_h(scale: float) -> float:
    """Height of a collapsed step block in rows `scale` x CELL_H high (the gap stays)."""
    return BLOCK_H["step"] + (scale - 1) * layout.CELL_H


def _centre_y(row: int, ys, scale: float) -> float:
    """A block's y: as the grid always placed it, or the centre of its taller row."""
    return ys[row] - layout.CELL_H / 2 + scale * layout.CELL_H / 2


def _fit_zoom(drawn, cells, zoom: float, scale: float = 1.0) -> float:
    """The zoom at which the collapsed view, sized for `zoom`, fits the panel."""
    _, col_w, widths = _widths(drawn, cells, zoom)
    xs = layout.offsets((c for c, _ in cells.values()), col_w)
    row_h = defaultdict(lambda: round(scale * layout.CELL_H))
    ys = layout.offsets((r for _, r in cells.values()), row_h)
    x1 = y1 = math.inf
    x2 = y2 = -math.inf
    for cid, d in drawn.items():
        col, row = cells[cid]
        x, y = _centre_x(col, xs, col_w), _centre_y(row, ys, scale)
        w = widths[cid]
        h = _step_h(scale) if d["kind"] == "step" else BLOCK_H[d["kind"]]
        x1, x2 = min(x1, x - w / 2), max(x2, x + w / 2)
        y1, y2 = min(y1, y - h / 2), max(y2, y + h / 2)
    return min((PANEL_W - 2 * FIT_PAD) / (x2 - x1), (PANEL_H - 2 * FIT_PAD) / (y2 - y1))


def _row_scale(drawn, cells, zoom: float) -> float:
    """How much taller the rows can be (room for the finer ranges inside the range blocks)
    without lowering the fitted zoom: the panel's spare height."""
    fit = _fit_zoom(drawn, cells, zoom)
    scale = 1.0
    while scale < MAX_ROW_SCALE and _fit_zoom(drawn, cells, zoom, scale + 0.25) >= fit * 0.999:
        scale += 0.25
    return scale


def _best_zoom(drawn, cells) -> tuple[float, float] | None:
    """(zoom the widths are made for, fitted zoom): the largest zoom at which the view sized for
    it still fits the panel, or None when no zoom makes every short label legible."""
    low = max(FAR_PX * LINE_H / BLOCK_H[d["kind"]] for d in drawn.values())  # one line's height
    if _fit_zoom(drawn, cells, low) < low:
        return None
    fit = _fit_zoom(drawn, cells, MAX_FIT_ZOOM)
    if fit >= MAX_FIT_ZOOM:
        return MAX_FIT_ZOOM, fit
    high = MAX_FIT_ZOOM
    for _ in range(12):
        mid = (low + high) / 2
        if _fit_zoom(drawn, cells, mid) >= mid:
            low = mid
        else:
            high = mid
    return low, _fit_zoom(drawn, cells, low)


def _sub_group(part: Partition, group: int, n_coarse_elements: int) -> int:
    """Steps per finer range inside a range block: the smallest divisor of `group` whose ranges
    fit the collapsed budget next to the coarse view (`group`: none)."""
    if group <= 1 or not part.unrolled:
        return group
    room = COLLAPSED_BUDGET - n_coarse_elements
    for sub in range(1, group):
        if group % sub == 0 and len(part.rows) * math.ceil(part.time_steps / sub) <= room:
            return sub
    return group


def _plan(part: Partition) -> _Plan:
    """The collapsed view: among the range sizes (at least the budget's) and band widths whose
    view, fitted into the panel, draws every block's short label >= 11 px, the one whose finer
    ranges (drawn inside the range blocks when zoomed in, within the budget) are the finest, then
    the smallest range size; the band width with the largest fitted zoom."""
    cached = _PLANS.get(part)
    if cached is not None:
        return cached
    g0, cmap0, agg0 = _budget_group(part)
    steps = part.time_steps
    candidates = _nice_groups(g0, steps) if part.unrolled else [g0]
    one_line = FAR_PX * LINE_H / BLOCK_H["step"]  # the zoom a one-line label needs in a step box
    plan = None
    for group in candidates:
        cmap, agg = (cmap0, agg0) if group == g0 else (_coarse_map(part, group), None)
        if agg is None:
            agg = _coarse_edges(part, cmap)
        drawn, _ = _drawn_blocks(part, cmap)
        sub = _sub_group(part, group, len(drawn) + len(agg))
        last = group == candidates[-1]
        if plan is not None and sub >= plan.sub_group:
            continue  # no finer zoomed-in ranges than a smaller range size already gives
        n_groups = math.ceil(steps / group) if part.unrolled else 0
        band_h = (len(part.rows) + 1) * layout.CELL_H
        options: list[int | None] = [None]
        if n_groups:
            # Bands of at least BAND_MIN steps: a short sequence stays on one line.
            least = min(layout.BAND_MIN, n_groups)
            options = sorted(
                {c for b in range(1, n_groups + 1) if (c := math.ceil(n_groups / b)) >= least},
                reverse=True,
            )
        best: tuple[float, float, int | None] | None = None
        for n_cols in options:
            bands = math.ceil(n_groups / n_cols) if n_cols else 1
            if bands > 1 and (bands - 1) * band_h * one_line > PANEL_H:
                break  # taller than any legible fit
            cells = layout.grid(drawn, agg, part.rows, n_groups, group, n_cols=n_cols)
            found = _best_zoom(drawn, cells)
            if found and (best is None or found[1] > best[1]):
                best = (found[0], found[1], n_cols)
        if best is None and not (last and plan is None):
            continue
        zoom, _, n_cols = best or (one_line, 0.0, None)
        if plan is None or sub < plan.sub_group:
            scale = 1.0
            if sub < group:
                cells = layout.grid(drawn, agg, part.rows, n_groups, group, n_cols=n_cols)
                scale = _row_scale(drawn, cells, zoom)
            plan = _Plan(group, sub, n_cols, zoom, scale, cmap, agg)
        if plan.sub_group == 1:
            break  # single steps when zoomed in: nothing finer to gain
    assert plan is not None
    _PLANS[part] = plan
    return plan


def _choose_group(part: Partition) -> tuple[int, dict[str, str], dict[tuple[str, str], int]]:
    """(steps per drawn block, fine -> drawn block id, aggregated edges) of the collapsed view."""
    plan = _plan(part)
    return plan.group, plan.cmap, plan.agg


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
        arrow = "◀ " if d.get("direction") == "bw" else ""
        return arrow + d["id"].rsplit("/", 1)[-1].replace("-", "–")
    if d["kind"] == "loop":  # a training graph has two: tell the gradient loop apart
        return "gradient loop" if d.get("role") == "gradients" else "while loop"
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
    cells = facts.cells_in(part, fines)  # roles by op name: before ops are reordered
    if level == 1 and d["kind"] == "loop":
        block = part.blocks[fines[0]]
        loop = facts.loops.get(cid.removeprefix("loop/")) or {
            "name": cid.removeprefix("loop/"),
            "kind": "v2_while" if block.detail else "v1_frame",
            "body_function": block.detail or None,
        }
        return cellview.loop_view(cid, loop, ops, cells, facts)
    if level == 1 and d["kind"] == "step" and len(fines) == 1:
        semantic = cellview.step_view(cid, d, cells, facts)
        if semantic is not None:
            return semantic
    ops, pairs = _bring_forward(ops, pairs, focus, per_block)
    return cellview.ops_view(cid, ops, pairs, cells, per_block)


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


def _sub_ranges(part: Partition, fines: list[str], sub: int) -> list[tuple[int, int, int]]:
    """(first step, last step, ops) of the finer ranges of `sub` steps inside a range block."""
    by_start: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for fine in fines:
        block = part.blocks[fine]
        lo = (block.step // sub) * sub
        acc = by_start[lo]
        acc[0] = lo
        acc[1] = max(acc[1], block.step)
        acc[2] += block.n_ops
    return [tuple(by_start[k]) for k in sorted(by_start)]


def _place_subs(
    d: Mapping[str, Any], ranges: list[tuple[int, int, int]], w: float, h: float
) -> list[dict[str, Any]]:
    """The finer ranges of range block `d` as small boxes inside it (semantic zoom: the browser
    shows them only once their labels are legible; a click on one selects it)."""
    inner_w, inner_h = w - 2 * SUB_MARGIN, h - 2 * SUB_MARGIN
    arrow = "◀ " if d.get("direction") == "bw" else ""
    shorts = [arrow + (f"t{lo}" if lo == hi else f"t{lo}–{hi}") for lo, hi, _ in ranges]
    widest = max(len(t) for t in shorts)
    best = None
    for n_rows in range(1, len(ranges) + 1):
        n_cols = math.ceil(len(ranges) / n_rows)
        sw, sh = max(inner_w / n_cols - 3, 0.5), max(inner_h / n_rows - 3, 0.5)
        need = max(widest * CHAR_W / (FIT_SLACK * sw), LINE_H / sh)  # zoom per px of font
        if best is None or need < best[0]:
            best = (need, n_rows, n_cols, sw, sh)
    _, n_rows, n_cols, sw, sh = best
    out = []
    x0 = d["x"] - inner_w / 2 + inner_w / n_cols / 2
    y0 = d["y"] - inner_h / 2 + inner_h / n_rows / 2
    for k, ((lo, _hi, n_ops), short) in enumerate(zip(ranges, shorts, strict=True)):
        r, c = divmod(k, n_cols)
        out.append(
            {
                "id": f"{d['id']}::{short.removeprefix(arrow)}",
                "kind": "sub",
                "label": f"{short}\n{n_ops} ops",
                "short": short,
                "n_ops": n_ops,
                "layer": d["layer"],
                "direction": d["direction"],
                "step": lo,
                "block": d["id"],
                "x": round(x0 + c * inner_w / n_cols, 1),
                "y": round(y0 + r * inner_h / n_rows, 1),
                "w": round(sw, 1),
                "h": round(sh, 1),
            }
        )
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
    facts = facts or Facts.of(part)
    expanded = list(expanded)
    plan = _plan(part)
    group, agg = plan.group, plan.agg
    drawn, fine_of = _drawn_blocks(part, plan.cmap)
    levels = {cid: level_of(expanded, cid) for cid in drawn}
    opened = sorted(c for c, lv in levels.items() if lv)
    n_groups = math.ceil(part.time_steps / group) if part.unrolled else 0
    cells = layout.grid(drawn, agg, part.rows, n_groups, group, n_cols=plan.n_cols)
    subs = {
        cid: _sub_ranges(part, fine_of[cid], plan.sub_group)
        for cid, d in drawn.items()
        if not levels[cid] and d["kind"] == "step" and plan.sub_group < group
    }
    subs = {cid: ranges for cid, ranges in subs.items() if len(ranges) > 1}

    base = len(drawn) + len(agg) + sum(len(r) for r in subs.values())
    room = max(max_elements - base, 0)
    # Each shown op costs about one node and ~1.5 edges.
    per_block = min(EXPAND_MAX_OPS, room // max(3 * len(opened), 1))
    contents = {}
    base_w, col_w, widths = _widths(drawn, cells, plan.zoom)
    row_h: dict[int, int] = defaultdict(lambda: round(plan.row_scale * layout.CELL_H))
    for cid in opened:
        inner = _contents(part, cid, drawn[cid], fine_of[cid], levels[cid], facts, per_block, focus)
        col, row = cells[cid]
        box = _extent(inner[0])
        col_w[col] = max(col_w[col], int(box[2] - box[0]) + 2 * PAD)
        row_h[row] = max(row_h[row], int(box[3] - box[1]) + 2 * PAD + TITLE)
        contents[cid] = (inner[0], inner[1], box)
    # Where a collapsed block sits does not move when a block of its column opens.
    label_w = defaultdict(lambda: layout.CELL_W, base_w)
    for cid, w in widths.items():
        if w > BLOCK_W[drawn[cid]["kind"]]:
            label_w[cells[cid][0]] = max(label_w[cells[cid][0]], w + 24)

    xs = layout.offsets((c for c, _ in cells.values()), col_w)
    ys = layout.offsets((r for _, r in cells.values()), row_h)
    nodes: list[dict[str, Any]] = []
    edge_list: list[dict[str, Any]] = []
    for cid in sorted(drawn, key=lambda c: (cells[c][0], cells[c][1], c)):
        d = dict(drawn[cid])
        col, row = cells[cid]
        d["x"], d["y"] = xs[col], ys[row]
        d["expanded"] = levels[cid] > 0
        d["level"] = levels[cid]
        if not d["expanded"]:
            d["x"] = _centre_x(col, xs, label_w)
            d["y"] = _centre_y(row, ys, plan.row_scale)
            if widths[cid] > BLOCK_W[d["kind"]]:
                d["w"] = widths[cid]
            if d["kind"] == "step" and plan.row_scale > 1:
                d["h"] = _step_h(plan.row_scale)
        if cid in subs:
            d["subs"] = len(subs[cid])
        nodes.append(d)
        if cid in subs:
            nodes.extend(_place_subs(d, subs[cid], widths[cid], d.get("h", BLOCK_H[d["kind"]])))
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
        sub_group=plan.sub_group if subs else group,
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
