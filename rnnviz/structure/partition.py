"""Cut a GraphDef into blocks: one per (layer, direction, step), per loop and per role.

What it is for: the first step of the Structure view. One pass over the node list groups every op
into a block by the analysis's classification (roles, step tags, loops); a second pass counts the
tensor edges between blocks. The result (`Partition`) is small (arrays, not per-node objects), is
cached by the dashboard, and is what `to_networkx()` exports for programmatic users.

It also carries, as plain data, what the view needs from the analysis: each step block's cell kind
and its ops' roles (one template of roles by position per (layer, direction), since the calls of a
cell repeat), each loop's `LoopInfo` facts and its body's cell calls, and the weights per cell.

What it is not: it classifies nothing itself (roles, step tags, loops and cell calls are read from
one `rnnviz.reporting.analysis.Analysis`) and it places nothing (see `layout`).
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

_SCOPE_NUMBER = re.compile(r"_\d+$")

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
    # From the analysis's cell calls: (kind, ((position in the block, role), ...)) templates; a
    # step block id or a row key "L0/fw" -> template number (the block's own entry wins).
    templates: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = field(default=(), repr=False)
    step_cells: dict[str, int] = field(default_factory=dict, repr=False)
    # Every loop's LoopInfo facts by loop name, with "cells": its body's cell calls
    # ({layer, direction, kind, roles: {op name as the block lists it: role}}).
    loop_facts: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    weights: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)  # "L0/fw"

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
            "templates": [[kind, [list(p) for p in roles]] for kind, roles in self.templates],
            "step_cells": dict(self.step_cells),
            "loop_facts": self.loop_facts,
            "weights": self.weights,
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
            templates=tuple((str(kind), tuple((int(p), str(r)) for p, r in roles))
                            for kind, roles in data.get("templates", ())),
            step_cells={str(k): int(v) for k, v in data.get("step_cells", {}).items()},
            loop_facts=dict(data.get("loop_facts", {})),
            weights=dict(data.get("weights", {})),
        )  # fmt: skip

    def to_networkx(self) -> nx.DiGraph:
        """The collapsed block graph: one node per block (its `Block` fields as attributes), one
        edge per pair of blocks joined by tensors (`n`: how many tensor edges it stands for).

        Loops keep their back edges (a loop block feeding a block that feeds it back is a cycle),
        so `nx.simple_cycles` finds them; the layout layers an acyclic copy (`layout.layers`)."""
        g = nx.DiGraph(n_nodes=self.n_nodes, time_steps=self.time_steps)
        for bid, b in self.blocks.items():
            attrs = {k: v for k, v in vars(b).items() if k != "id" and v is not None}
            g.add_node(bid, **attrs)
        for (a, b), n in self.edges.items():
            g.add_edge(a, b, n=n)
        return g

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
    source: Any,
    *,
    steps: Mapping[str, tuple[int, str, int]] | None = None,
    roles: Mapping[str, str] | None = None,
    loops: Mapping[str, tuple[str, str]] | None = None,
) -> Partition:
    """Cut a graph into blocks by its analysis.

    `source`: an `Analysis` (what the dashboard's jobs pass: the same one the report reads), or
    anything `analyse` reads (a path, GraphDef, BuiltModel), analysed once here. Tests with their
    own classification pass a GraphDef with `steps` (node -> (layer, direction, step)), `roles`
    (node -> role) and `loops` (node -> (loop id, body function)); no cell facts then.
    """
    if steps is not None or roles is not None or loops is not None:
        functions = {f.signature.name: f.node_def for f in source.library.function}
        return _cut(
            _explicit(source, steps, roles, loops), None, lambda name: _body(functions, name)
        )
    from rnnviz.reporting.analysis import Analysis, analyse

    a = source if isinstance(source, Analysis) else analyse(source)
    gi = a.index
    loop_of = _loops_by_index(gi.index, a.loops)

    def function_of(name: str) -> tuple | None:
        f = a.graphs.function(name)
        return None if f is None else (f.names, f.ops, f.raw_inputs)

    classified = (gi.names, gi.ops, gi.raw_inputs, gi.index, a.roles, a.tags, loop_of)
    return _cut(classified, a, function_of)


def _body(functions: Mapping[str, Any], name: str) -> tuple | None:
    """(names, ops, inputs) of library function `name` of a GraphDef, or None."""
    nodes = functions.get(name)
    if nodes is None:
        return None
    return [n.name for n in nodes], [n.op for n in nodes], [n.input for n in nodes]


def _explicit(graph_def: Any, steps: Any, roles: Any, loops: Any) -> tuple:
    nodes = graph_def.node
    names = [n.name for n in nodes]
    index = {n: i for i, n in enumerate(names)}
    return (
        names,
        [n.op for n in nodes],
        [n.input for n in nodes],
        index,
        [(roles or {}).get(n, "other") for n in names],
        {index[n]: t for n, t in (steps or {}).items() if n in index},
        {index[n]: v for n, v in (loops or {}).items() if n in index},
    )


def _cut(classified: tuple, a: Any, body_of: Any) -> Partition:
    """The two passes over the node list (see the module docstring); `a`: the analysis or None,
    `body_of(function name)`: a function's (names, ops, inputs) or None."""
    names, ops, raw_inputs, index, role_list, tags, loop_of = classified
    keys, meta, scope_size, max_step, rows = _node_keys(names, role_list, tags, loop_of)
    keys, order = _pool_scopes(keys, meta, scope_size)
    node_block = np.fromiter((order[k] for k in keys), dtype=np.int32, count=len(keys))
    edges, inner_src, inner_dst = _edge_pass(raw_inputs, index, node_block, list(order))
    blocks, bodies = _blocks(meta, order, node_block, len(names), body_of)
    templates, step_cells = _step_cells(a, index, node_block, blocks) if a is not None else ((), {})
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
        templates=templates,
        step_cells=step_cells,
        loop_facts=_loop_facts(a, index, loop_of) if a is not None else {},
        weights=_weights(a) if a is not None else {},
    )


def _node_keys(
    names: Sequence[str],
    role_list: Sequence[str],
    tags: Mapping[int, tuple[int, str, int]],
    loop_of: Mapping[int, tuple[str, str]],
) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, int], int, set[tuple[int, str]]]:
    """First pass: every node's fine block key, each block's meta (in first-seen order), the
    forward scope sizes, the last step and the (layer, direction) rows."""
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
    return keys, meta, scope_size, max_step, rows


def _pool_scopes(
    keys: list[str], meta: dict[str, dict[str, Any]], scope_size: Mapping[str, int]
) -> tuple[list[str], dict[str, int]]:
    """Keep the biggest forward scopes as blocks and pool the rest: (node keys, block numbers).
    Adds the scope blocks to `meta`."""
    # A foreign graph may have hundreds of top scopes: keep the biggest, pool the rest.
    kept = set(sorted(scope_size, key=lambda b: (-scope_size[b], b))[:MAX_SCOPE_BLOCKS])
    pooled = _role_id("forward/(other scopes)")
    for bid in scope_size:
        target = bid if bid in kept else pooled
        meta.setdefault(target, {"kind": "role", "role": target.removeprefix("role/")})
    order = {bid: k for k, bid in enumerate(meta)}
    if len(kept) < len(scope_size):
        keys = [pooled if (k in scope_size and k not in kept) else k for k in keys]
    return keys, order


def _edge_pass(
    raw_inputs: Sequence[Iterable[str]],
    index: Mapping[str, int],
    node_block: np.ndarray,
    ids: list[str],
) -> tuple[dict[tuple[str, str], int], list[int], list[int]]:
    """Second pass: (tensor edge counts between blocks, sources and targets of the edges inside
    a block)."""
    # Edge pass (data and control inputs). Most inputs are a plain node name: one dict look-up.
    nb = node_block.tolist()
    cross: dict[int, int] = defaultdict(int)
    inner_src: list[int] = []
    inner_dst: list[int] = []
    n_blocks = len(ids)
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
    edges = {(ids[k // n_blocks], ids[k % n_blocks]): n for k, n in cross.items()}
    return edges, inner_src, inner_dst


def _blocks(
    meta: Mapping[str, Mapping[str, Any]],
    order: Mapping[str, int],
    node_block: np.ndarray,
    n_nodes: int,
    body_of: Any,
) -> tuple[dict[str, Block], dict[str, tuple[list[tuple[str, str]], list[tuple[int, int]]]]]:
    """The `Block` of every block key and the op list and edges of every v2 loop's body."""
    n_blocks = len(order)
    counts = np.bincount(node_block, minlength=n_blocks)
    first = np.full(n_blocks, n_nodes, dtype=np.int64)
    np.minimum.at(first, node_block, np.arange(n_nodes))
    bodies: dict[str, tuple[list[tuple[str, str]], list[tuple[int, int]]]] = {}
    blocks: dict[str, Block] = {}
    for bid, k in order.items():
        m = meta[bid]
        n_ops = int(counts[k])
        body = body_of(m["detail"]) if m["kind"] == "loop" and m.get("detail") else None
        if body is not None:
            # A v2 loop: the graph holds one While op; what runs per step is its body function.
            body_names, body_ops, body_inputs = body
            bodies[bid] = (
                list(zip(body_names, body_ops, strict=True)),
                _internal_edges(body_names, body_inputs),
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
    return blocks, bodies


def _step_cells(
    a: Any, index: Mapping[str, int], node_block: np.ndarray, blocks: Mapping[str, Block]
) -> tuple[tuple[tuple[str, tuple[tuple[int, str], ...]], ...], dict[str, int]]:
    """Each step block's cell kind and op roles, by position among the block's ops (graph order,
    what `block_ops` lists). The calls of one cell repeat, so a row keeps one template and only
    a block that differs names its own: at T=784 this is a few entries, not 784 role maps."""
    nb = node_block.tolist()
    position = np.zeros(len(nb), dtype=np.int64)
    seen: dict[int, int] = defaultdict(int)
    for i, b in enumerate(nb):
        position[i] = seen[b]
        seen[b] += 1
    templates: dict[tuple, int] = {}
    step_cells: dict[str, int] = {}
    for call in a.calls:
        if call.form != "unrolled" or call.step is None:
            continue
        bid = _step_id(call.layer, call.direction, call.step)
        if bid not in blocks:
            continue
        number = blocks[bid].number
        found = [(index.get(name), role) for name, role in call.op_roles.items()]
        roles = tuple(
            sorted((int(position[i]), r) for i, r in found if i is not None and nb[i] == number)
        )
        key = (call.kind, roles)
        tid = templates.setdefault(key, len(templates))
        row = f"L{call.layer}/{call.direction}"
        if step_cells.setdefault(row, tid) != tid:
            step_cells[bid] = tid
    return tuple(templates), step_cells


_LOOP_FIELDS = (
    "name", "kind", "role", "body_ops", "loop_vars", "parallel_iterations", "swap_memory",
    "trip_count", "trip_count_source", "body_function", "cond_function", "in_function",
    "parent", "depth", "flops_per_step",
)  # fmt: skip


def _loop_facts(
    a: Any, index: Mapping[str, int], loop_of: Mapping[int, tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """Every loop's `LoopInfo` facts (JSON-able; not its node list) and its body's cell calls,
    their roles keyed by the op names the loop block lists (a v2 body: names in the function)."""
    out: dict[str, dict[str, Any]] = {}
    by_body: dict[str, str] = {}
    for lp in a.loops:
        d = lp.to_dict()
        out[lp.name] = {k: d.get(k) for k in _LOOP_FIELDS} | {"cells": []}
        if lp.body_function:
            by_body[lp.body_function] = lp.name
    for call in a.calls:
        if call.form != "loop" or not call.ops:
            continue
        name, roles = _loop_of_call(call, index, loop_of, by_body)
        if name in out:
            out[name]["cells"].append(
                {"layer": call.layer, "direction": call.direction, "kind": call.kind,
                 "roles": roles}
            )  # fmt: skip
    for facts in out.values():  # drawn from the input side up
        facts["cells"].sort(key=lambda c: (c["layer"], c["direction"] != "fw"))
    return out


def _loop_of_call(
    call: Any,
    index: Mapping[str, int],
    loop_of: Mapping[int, tuple[str, str]],
    by_body: Mapping[str, str],
) -> tuple[str | None, dict[str, str]]:
    """(loop name, roles by block op name) of a loop-form cell call: a v1 frame's ops are
    main-graph nodes; a v2 body's are "function/node"."""
    i = index.get(call.ops[0])
    if i is not None and i in loop_of:
        return loop_of[i][0].removeprefix("loop/"), dict(call.op_roles)
    function = call.ops[0].split("/", 1)[0]
    cut = len(function) + 1
    return by_body.get(function), {n[cut:]: r for n, r in call.op_roles.items()}


def _weights(a: Any) -> dict[str, list[dict[str, Any]]]:
    """The weights each (layer, direction) cell reads: "L0/fw" -> [{name, shape, role}]."""
    out: dict[str, list[dict[str, Any]]] = {}
    for w in a.weights:
        if w.layer is not None:
            row = f"L{w.layer}/{w.direction or 'fw'}"
            out.setdefault(row, []).append({"name": w.name, "shape": list(w.shape), "role": w.role})
    return out


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
