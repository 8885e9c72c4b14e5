"""Collapsed block graphs of a GraphDef, for drawing: plain data with server-side positions.

What it is for: the dashboard's Structure page draws an unrolled (static_rnn) graph of up to ~230k
ops and a while-loop (dynamic_rnn) graph side by side. Neither can be drawn op by op, and a force
layout in the browser freezes on a few thousand elements. So the graph is cut once into *blocks*

* unrolled graph: one block per layer x direction x time step (the ops the report's `op_steps`
  tags), plus one block per role of the remaining ops (input, head, loss, gradients, ...);
* loop graph: one block per while loop (v2 `While` op: its body function; v1: its frame's ops),
  plus the role blocks;

and a *view* is drawn from these blocks: block-to-block edges aggregated, positions on a grid
computed here (x = time step, y = layer/direction for steps; a layered order for the rest), some
blocks expanded into their ops, and never more than `MAX_ELEMENTS` nodes + edges whatever T is
(steps are grouped into ranges, expanded blocks show their first ops and a "+k more" node).

What it is not: it classifies nothing itself. Roles, step tags and loops come from the report
(`rnnviz.reporting.roles.op_roles`, `rnnviz.reporting.timesteps.op_steps`, `rnnviz.reporting.loops`); this
module only groups by them. It works on the protobuf node list with dicts and numpy arrays (no
networkx graph of the whole GraphDef: that alone takes seconds at T=784).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "MAX_ELEMENTS",
    "Block",
    "Partition",
    "View",
    "collapse",
    "expand",
    "make_view",
    "partition",
    "structure_view",
    "toggle",
]

MAX_ELEMENTS = 1500  # nodes + edges sent to the browser in any view (dash-cytoscape stays fluid)
COLLAPSED_BUDGET = 900  # the collapsed view's share; the rest is room for expanded blocks
EXPAND_MAX_OPS = 120  # ops shown in one expanded block before a "+k more" node
_SCOPE_NUMBER = re.compile(r"_\d+$")
# Grid cell sizes in cytoscape pixels.
CELL_W, CELL_H = 170, 110
BAND_MIN = 10  # steps per line of the unrolled grid before it wraps
OP_W, OP_H = 150, 44
MAX_OP_ROWS = 10  # ops stacked in one column of an expanded block before the next column

# Roles whose ops stay in their role block even when the report tags them with a time step:
# the issue draws the unrolled forward pass per step and the backward pass / update as blocks.
BACKWARD_ROLES = frozenset({"gradients", "optimizer", "initialization", "save_restore"})
MAX_SCOPE_BLOCKS = 24  # forward ops outside steps/loops: one block per top scope, at most this many


@dataclass(frozen=True)
class Block:
    """One block of a partition: a group of ops drawn as one node until expanded."""

    id: str
    kind: str  # "step" (layer x direction x step), "role", "loop"
    label: str
    n_ops: int
    number: int  # position in `Partition.blocks` (what `Partition.node_block` holds)
    first: int  # index of its first node: graph order, which is near-topological in TF graphs
    layer: int | None = None
    direction: str | None = None
    step: int | None = None
    role: str | None = None
    detail: str = ""  # a v2 loop's body function


@dataclass(frozen=True, eq=False)
class Partition:
    """A GraphDef cut into blocks, with tensor-edge counts between blocks. Computed once per graph
    and small enough to pickle into the dashboard's cache (arrays, not per-node objects)."""

    blocks: dict[str, Block]
    edges: dict[tuple[str, str], int]
    n_nodes: int
    time_steps: int  # 1 + the largest step tag (0: no per-step ops, e.g. a loop graph)
    rows: tuple[tuple[int, str], ...]  # (layer, direction) pairs that have step blocks, in order
    loops: tuple[str, ...]  # ids of loop blocks
    names: list[str] = field(repr=False)
    ops: list[str] = field(repr=False)
    node_block: np.ndarray = field(repr=False)  # block number of every node
    inner: np.ndarray = field(repr=False)  # [2, E] node-index pairs of edges inside a block
    # v2 loop blocks: the body function's (name, op) list and its edges (local indexes).
    bodies: dict[str, tuple[list[tuple[str, str]], list[tuple[int, int]]]] = field(repr=False)

    @property
    def unrolled(self) -> bool:
        return self.time_steps > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the dashboard caches partitions as JSON, never as pickles)."""
        return {
            "blocks": [dataclasses.asdict(b) for b in self.blocks.values()],
            "edges": [[a, b, n] for (a, b), n in self.edges.items()],
            "n_nodes": self.n_nodes,
            "time_steps": self.time_steps,
            "rows": [list(r) for r in self.rows],
            "loops": list(self.loops),
            "names": list(self.names),
            "ops": list(self.ops),
            "node_block": self.node_block.tolist(),
            "inner": np.asarray(self.inner).tolist(),
            "bodies": {k: [[list(p) for p in ops], [list(e) for e in edges]]
                       for k, (ops, edges) in self.bodies.items()},
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Partition:
        """The inverse of `to_dict` (only plain values are read: no code runs)."""
        blocks = {b["id"]: Block(**b) for b in data["blocks"]}
        return cls(
            blocks=blocks,
            edges={(str(a), str(b)): int(n) for a, b, n in data["edges"]},
            n_nodes=int(data["n_nodes"]),
            time_steps=int(data["time_steps"]),
            rows=tuple((int(layer), str(d)) for layer, d in data["rows"]),
            loops=tuple(str(x) for x in data["loops"]),
            names=[str(x) for x in data["names"]],
            ops=[str(x) for x in data["ops"]],
            node_block=np.asarray(data["node_block"], dtype=np.int32),
            inner=np.asarray(data["inner"], dtype=np.int32).reshape(2, -1),
            bodies={k: ([(str(n), str(o)) for n, o in ops], [(int(a), int(b)) for a, b in edges])
                    for k, (ops, edges) in data["bodies"].items()},
        )  # fmt: skip

    def block_ops(self, block_id: str) -> tuple[list[tuple[str, str]], list[tuple[int, int]]]:
        """(name, op) of a block's ops in graph order, and its internal edges as local indexes."""
        if block_id in self.bodies:
            return self.bodies[block_id]
        number = self.blocks[block_id].number
        members = np.flatnonzero(self.node_block == number)
        local = {int(g): k for k, g in enumerate(members)}
        src, dst = self.inner
        sel = self.node_block[src] == number
        pairs = [(local[int(a)], local[int(b)]) for a, b in zip(src[sel], dst[sel], strict=True)]
        return [(self.names[i], self.ops[i]) for i in members], pairs


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
        return [n["id"] for n in self.nodes if n["kind"] in ("step", "role", "loop")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "expanded": sorted(self.expanded),
            "group": self.group,
            "nodes": list(self.nodes),
            "edges": list(self.edges),
            "hidden_edges": self.hidden_edges,
            "n_elements": self.n_elements,
        }


# ------------------------------------------------------------------------------------------------
# Partition: one pass over the node list, one over the inputs.


def _fn_node_name(inp: str) -> str:
    """Function-body input 'a/b:output:0' -> 'a/b'; an argument name stays as it is."""
    if inp.startswith("^"):
        inp = inp[1:]
    colon = inp.find(":")
    return inp if colon < 0 else inp[:colon]


def _step_id(layer: int, direction: str, step: int) -> str:
    return f"L{layer}/{direction}/t{step}"


def _role_id(role: str) -> str:
    return f"role/{role}"


def _classify(
    graph_def: Any, step_tensors: Any
) -> tuple[Any, list[str], dict[int, tuple[int, str, int]], dict[int, tuple[str, str]]]:
    """The report's classification on one shared index: (index, roles, step tags, loops).

    `op_roles`, `op_steps` and `find_loops` each index the GraphDef again; on the 230k-node graph
    that is most of the time budget, so the same published building blocks are called here on a
    single `GraphIndex` (results are identical)."""
    from rnnviz.reporting.graph import GraphIndex, GraphSet
    from rnnviz.reporting.loops import loops_of
    from rnnviz.reporting.roles import roles_of
    from rnnviz.reporting.timesteps import tag_steps

    gi = GraphIndex.of_nodes(graph_def.node)
    roles = roles_of(gi.names, gi.ops)
    _, tags = tag_steps(gi, roles, tuple(step_tensors or ()))
    loops = _loops_by_index(gi.index, loops_of(GraphSet(graph_def, gi)))
    return gi, roles, tags, loops


def _loops_by_index(index: Mapping[str, int], loops: Iterable[Any]) -> dict[int, tuple[str, str]]:
    """node index -> (loop block id, body function or "") from the report's `LoopInfo`s.

    v1 frames: every frame node of the main graph joins the loop block. v2: the main graph holds
    only the `While` op; its block shows the body function. Loops inside functions are not
    separate blocks (they are drawn inside their function's body)."""
    out: dict[int, tuple[str, str]] = {}
    for loop in loops:
        if loop.in_function:
            continue
        bid = f"loop/{loop.name}"
        if loop.kind == "v2_while":
            names: Iterable[str] = (loop.name,)
            body = loop.body_function or ""
        else:
            names, body = loop.body_nodes, ""
        for name in names:
            i = index.get(name)
            if i is not None:
                out.setdefault(i, (bid, body))
    return out


def partition(
    graph_def: Any,
    *,
    steps: Mapping[str, tuple[int, str, int]] | None = None,
    roles: Mapping[str, str] | None = None,
    loops: Mapping[str, tuple[str, str]] | None = None,
    step_tensors: Any = None,
) -> Partition:
    """Cut a GraphDef into blocks.

    By default the report classifies the ops (roles, step tags from `step_tensors` or inferred,
    loops). Tests and callers with their own classification pass `steps` (node -> (layer,
    direction, step)), `roles` (node -> role) and `loops` (node -> (loop id, body function)).
    """
    if steps is None and roles is None and loops is None:
        gi, role_list, tags, loop_of = _classify(graph_def, step_tensors)
        names, ops, raw_inputs, index = gi.names, gi.ops, gi.raw_inputs, gi.index
    else:
        nodes = graph_def.node
        names = [n.name for n in nodes]
        ops = [n.op for n in nodes]
        raw_inputs = [n.input for n in nodes]
        index = {n: i for i, n in enumerate(names)}
        role_list = [(roles or {}).get(n, "other") for n in names]
        tags = {index[n]: t for n, t in (steps or {}).items() if n in index}
        loop_of = {index[n]: v for n, v in (loops or {}).items() if n in index}

    # Fine key of every node. Forward ops outside the steps and loops are split by top name
    # scope (inputs, head, loss, metrics, ...): the report's roles are coarser than the picture.
    keys: list[str] = []
    meta: dict[str, dict[str, Any]] = {}
    scope_size: dict[str, int] = defaultdict(int)
    max_step = -1
    rows: set[tuple[int, str]] = set()
    role_block: dict[str, str] = {}
    for i, name in enumerate(names):
        role = role_list[i]
        if role in BACKWARD_ROLES and (not loop_of or i not in loop_of):
            # Most nodes of a training graph (gradients, Adam): the cheapest path first.
            bid = role_block.get(role)
            if bid is None:
                bid = role_block[role] = _role_id(role)
                meta[bid] = {"kind": "role", "role": role}
            keys.append(bid)
            continue
        loop = loop_of.get(i) if loop_of else None
        tag = tags.get(i)
        if loop is not None:
            bid = loop[0]
            if bid not in meta:
                meta[bid] = {"kind": "loop", "role": role, "detail": loop[1]}
        elif tag is not None:
            layer, direction, step = tag
            bid = _step_id(layer, direction, step)
            if bid not in meta:
                meta[bid] = {"kind": "step", "layer": layer, "direction": direction, "step": step}
                rows.add((layer, direction))
                max_step = max(max_step, step)
        elif role == "forward":
            # "concat_3" and "concat" are one scope: TF numbers repeats (one per step in bi graphs).
            bid = "role/forward/" + _SCOPE_NUMBER.sub("", name.partition("/")[0])
            scope_size[bid] += 1
        else:
            bid = role_block.get(role)
            if bid is None:
                bid = role_block[role] = _role_id(role)
                meta[bid] = {"kind": "role", "role": role}
        keys.append(bid)
    # A foreign graph may have hundreds of top scopes: keep the biggest, pool the rest.
    kept = set(sorted(scope_size, key=lambda b: (-scope_size[b], b))[:MAX_SCOPE_BLOCKS])
    pooled = _role_id("forward/(other scopes)")
    for bid in scope_size:
        target = bid if bid in kept else pooled
        meta.setdefault(target, {"kind": "role", "role": target.removeprefix("role/")})
    order = {bid: k for k, bid in enumerate(meta)}
    if len(kept) < len(scope_size):
        keys = [pooled if (k in scope_size and k not in kept) else k for k in keys]
    node_block = np.fromiter((order[k] for k in keys), dtype=np.int32, count=len(keys))

    # Edge pass (data and control inputs). Most inputs are a plain node name: one dict look-up.
    nb = node_block.tolist()
    cross: dict[int, int] = defaultdict(int)
    inner_src: list[int] = []
    inner_dst: list[int] = []
    n_blocks = len(order)
    get = index.get
    for j, ins in enumerate(raw_inputs):
        bj = nb[j]
        for raw in ins:
            i = get(raw)
            if i is None:
                name = raw[1:] if raw[0] == "^" else raw
                colon = name.rfind(":")
                i = get(name if colon < 0 else name[:colon])
                if i is None:
                    continue
            bi = nb[i]
            if bi == bj:
                inner_src.append(i)
                inner_dst.append(j)
            else:
                cross[bi * n_blocks + bj] += 1
    ids = list(order)
    edges = {(ids[k // n_blocks], ids[k % n_blocks]): n for k, n in cross.items()}

    counts = np.bincount(node_block, minlength=n_blocks)
    first = np.full(n_blocks, len(names), dtype=np.int64)
    np.minimum.at(first, node_block, np.arange(len(names)))
    functions = {f.signature.name: f for f in graph_def.library.function}
    bodies: dict[str, tuple[list[tuple[str, str]], list[tuple[int, int]]]] = {}
    blocks: dict[str, Block] = {}
    for bid, k in order.items():
        m = meta[bid]
        n_ops = int(counts[k])
        if m["kind"] == "loop" and m.get("detail") in functions:
            # A v2 loop: the graph holds one While op; what runs per step is its body function.
            body = functions[m["detail"]]
            body_names = [n.name for n in body.node_def]
            bodies[bid] = (
                [(n.name, n.op) for n in body.node_def],
                _internal_edges(body_names, [n.input for n in body.node_def]),
            )
            n_ops = len(body_names)
        blocks[bid] = Block(
            id=bid,
            kind=m["kind"],
            label=_label(bid, m, n_ops),
            n_ops=n_ops,
            number=k,
            first=int(first[k]),
            layer=m.get("layer"),
            direction=m.get("direction"),
            step=m.get("step"),
            role=m.get("role"),
            detail=m.get("detail", ""),
        )
    return Partition(
        blocks=blocks,
        edges=edges,
        n_nodes=len(names),
        time_steps=max_step + 1,
        rows=tuple(sorted(rows, key=lambda r: (r[0], r[1] != "fw"))),
        loops=tuple(sorted(b for b, m in meta.items() if m["kind"] == "loop")),
        names=list(names),
        ops=list(ops),
        node_block=node_block,
        inner=np.array([inner_src, inner_dst], dtype=np.int32).reshape(2, -1),
        bodies=bodies,
    )


def _internal_edges(names: list[str], inputs: list[Iterable[str]]) -> list[tuple[int, int]]:
    index = {n: i for i, n in enumerate(names)}
    out = []
    for j, ins in enumerate(inputs):
        for raw in ins:
            i = index.get(_fn_node_name(raw))
            if i is not None and i != j:
                out.append((i, j))
    return out


def _short(text: str, limit: int = 26) -> str:
    """Keep the end of a long name (its distinctive part) for a label."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _label(bid: str, m: Mapping[str, Any], n_ops: int) -> str:
    if m["kind"] == "step":
        return f"L{m['layer']} {m['direction']} t{m['step']}\n{n_ops} ops"
    if m["kind"] == "loop":
        name = _short(bid.removeprefix("loop/"))
        body = f"\nbody {_short(m['detail'])}" if m.get("detail") else ""
        return f"while loop\n{name}{body}\n{n_ops} ops"
    return f"{str(m['role']).removeprefix('forward/')}\n{n_ops} ops"


# ------------------------------------------------------------------------------------------------
# Views


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
    }


def _grid(
    part: Partition,
    drawn: dict[str, dict[str, Any]],
    edges: Mapping[tuple[str, str], int],
    group: int,
) -> dict[str, tuple[int, int]]:
    """(column, row) of every drawn block: steps on a time x (layer, direction) grid, the rest
    layered around it in dependency order (blocks feeding the steps left, the rest right).

    A long time axis is wrapped into bands of `n_cols` steps stacked vertically (like lines of
    text), so a panel keeps a readable aspect ratio instead of a thin strip."""
    row_of = {r: i for i, r in enumerate(part.rows)}
    n_rows = max(len(part.rows), 1)
    n_groups = math.ceil(part.time_steps / group) if part.unrolled else 0
    n_cols = 0
    if n_groups:
        # Band width for a roughly square grid; short sequences stay on one line.
        square = math.ceil(math.sqrt(n_groups * (n_rows + 1) * CELL_H / CELL_W))
        n_cols = min(n_groups, max(square, BAND_MIN))
    cells: dict[str, tuple[int, int]] = {}
    super_id = "__steps__"
    first: dict[str, int] = {}
    for bid, d in drawn.items():
        if d["kind"] == "step":
            band, col = divmod(d["step"] // group, n_cols)
            cells[bid] = (col, band * (n_rows + 1) + row_of[(d["layer"], d["direction"])])
            first[super_id] = min(first.get(super_id, d["first"]), d["first"])
        else:
            first[bid] = d["first"]
    # Longest-path layers over the edges that go forward in graph order (TF creates ops in
    # dependency order, so the few backward edges are loops' back edges: ignored).
    preds: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        a2 = super_id if a in cells else a
        b2 = super_id if b in cells else b
        if a2 != b2 and first[a2] < first[b2]:
            preds[b2].add(a2)
    layer: dict[str, int] = {}
    for bid in sorted(first, key=lambda b: (first[b], b)):
        layer[bid] = 1 + max((layer[p] for p in preds[bid]), default=-1)
    steps_layer = layer.get(super_id)
    ordered = [b for b in sorted(layer, key=lambda b: (layer[b], first[b], b)) if b != super_id]
    below: list[str] = []
    if steps_layer is None:  # no unrolled steps (a loop graph): one column per dependency layer
        by_col: dict[int, list[str]] = defaultdict(list)
        for bid in ordered:
            by_col[layer[bid]].append(bid)
        for col, bids in by_col.items():
            for i, bid in enumerate(bids):
                cells[bid] = (col, i)
    else:
        # Blocks feeding the steps stack in compact columns on the left, the head, loss and
        # training blocks on the right: the panel is about T columns wide, not T + one column
        # per dependency layer, so the grid keeps a readable size when the view is fitted.
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


def _op_layout(n: int, pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(column, row) of the first n ops of a block: longest path over forward edges (graph order
    is near-topological; back edges such as NextIteration -> Merge are ignored)."""
    preds: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs:
        if a < b < n:
            preds[b].append(a)
    level = [0] * n
    for j in range(n):
        if preds[j]:
            level[j] = 1 + max(level[i] for i in preds[j])
    # Wrap tall levels into extra columns so one block does not become a thin tower.
    height: dict[int, int] = defaultdict(int)
    for lev in level:
        height[lev] += 1
    offset, start = 0, {}
    for lev in sorted(height):
        start[lev] = offset
        offset += math.ceil(height[lev] / MAX_OP_ROWS)
    counts: dict[int, int] = defaultdict(int)
    out = []
    for j in range(n):
        k = counts[level[j]]
        out.append((start[level[j]] + k // MAX_OP_ROWS, k % MAX_OP_ROWS))
        counts[level[j]] += 1
    return out


def make_view(
    part: Partition, expanded: Iterable[str] = (), *, max_elements: int = MAX_ELEMENTS
) -> View:
    """The drawable view of a partition with some blocks expanded into their ops."""
    group, cmap, agg = _choose_group(part)
    fine_of: dict[str, list[str]] = defaultdict(list)
    for fine, coarse in cmap.items():
        fine_of[coarse].append(fine)
    for fines in fine_of.values():
        fines.sort(key=lambda f: (part.blocks[f].step or 0, f))
    drawn = {cid: _coarse_block(part, cid, fines) for cid, fines in fine_of.items()}
    expanded_set = frozenset(e for e in expanded if e in drawn)
    cells = _grid(part, drawn, agg, group)

    base = len(drawn) + len(agg)
    room = max(max_elements - base, 0)
    # Each shown op costs about one node and ~1.5 edges.
    per_block = min(EXPAND_MAX_OPS, room // max(3 * len(expanded_set), 1))

    contents: dict[str, tuple[list[tuple[str, str]], list[tuple[int, int]], int, list]] = {}
    col_w: dict[int, int] = defaultdict(lambda: CELL_W)
    row_h: dict[int, int] = defaultdict(lambda: CELL_H)
    for cid in sorted(expanded_set):
        ops: list[tuple[str, str]] = []
        pairs: list[tuple[int, int]] = []
        for fine in fine_of[cid]:
            block_ops, block_pairs = part.block_ops(fine)
            off = len(ops)
            ops.extend(block_ops)
            pairs.extend((off + a, off + c) for a, c in block_pairs)
        shown = min(len(ops), per_block)
        shown_pairs = [(a, c) for a, c in pairs if a < shown and c < shown]
        layout = _op_layout(shown, shown_pairs)
        cols = 1 + max((c for c, _ in layout), default=0)
        rows = 1 + max((r for _, r in layout), default=0) + (1 if len(ops) > shown else 0)
        col, row = cells[cid]
        col_w[col] = max(col_w[col], cols * OP_W + 40)
        row_h[row] = max(row_h[row], rows * OP_H + 50)
        contents[cid] = (ops[:shown], shown_pairs, len(ops) - shown, layout)

    xs = _offsets({c for c, _ in cells.values()}, col_w)
    ys = _offsets({r for _, r in cells.values()}, row_h)
    nodes: list[dict[str, Any]] = []
    edge_list: list[dict[str, Any]] = []
    for cid in sorted(drawn, key=lambda c: (cells[c][0], cells[c][1], c)):
        d = dict(drawn[cid])
        col, row = cells[cid]
        d["x"], d["y"] = xs[col], ys[row]
        d["expanded"] = cid in expanded_set
        nodes.append(d)
        if cid not in expanded_set:
            continue
        ops, pairs, more, layout = contents[cid]
        for k, ((name, op), (c, r)) in enumerate(zip(ops, layout, strict=True)):
            nodes.append(
                {
                    "id": f"{cid}::{k}",
                    "kind": "op",
                    "label": f"{op}\n{name.rsplit('/', 1)[-1]}",
                    "name": name,
                    "op": op,
                    "parent": cid,
                    "x": xs[col] + c * OP_W,
                    "y": ys[row] + r * OP_H,
                }
            )
        for a, c in pairs:
            edge_list.append(
                {"id": f"{cid}::{a}->{c}", "source": f"{cid}::{a}", "target": f"{cid}::{c}", "n": 1}
            )
        if more:
            nodes.append(
                {
                    "id": f"{cid}::more",
                    "kind": "more",
                    "label": f"+{more} more",
                    "parent": cid,
                    "x": xs[col],
                    "y": ys[row] + (1 + max((r for _, r in layout), default=-1)) * OP_H,
                }
            )
    block_edges = [
        {"id": f"{a}->{b}", "source": a, "target": b, "n": n} for (a, b), n in sorted(agg.items())
    ]
    # Block edges first: they carry the picture; op edges are the first to go past the cap.
    all_edges = block_edges + edge_list
    budget = max(max_elements - len(nodes), 0)
    hidden = max(len(all_edges) - budget, 0)
    return View(
        partition=part,
        expanded=expanded_set,
        group=group,
        nodes=tuple(nodes),
        edges=tuple(all_edges[:budget]),
        hidden_edges=hidden,
    )


def _offsets(indexes: set[int], size: Mapping[int, int]) -> dict[int, int]:
    """Pixel offset of each grid index; an expanded block widens its whole column/row."""
    out, pos = {}, 0
    for i in sorted(indexes):
        out[i] = pos
        pos += size[i]
    return out


def expand(view: View, block_id: str) -> View:
    """A new view with `block_id` expanded into its ops."""
    return make_view(view.partition, view.expanded | {block_id})


def collapse(view: View, block_id: str) -> View:
    """A new view with `block_id` drawn as one block again."""
    return make_view(view.partition, view.expanded - {block_id})


def toggle(expanded: Iterable[str], block_id: str) -> list[str]:
    """The expanded blocks after a click on `block_id` (a click on an op toggles its block), in
    click order: the last one is the one just opened."""
    block_id = block_id.split("::", 1)[0]
    current = list(expanded)
    if block_id in current:
        return [b for b in current if b != block_id]
    return [*current, block_id]


def structure_view(graph_def: Any, *, step_tensors: Any = None, **kwargs: Any) -> View:
    """GraphDef -> its collapsed view (the report's classification, nothing expanded)."""
    return make_view(partition(graph_def, step_tensors=step_tensors, **kwargs))
