"""The inside of an expanded block: a cell drawn as a cell, a while loop drawn as a loop, or ops.

What it is for: `block_contents` turns the ops of one expanded block into nodes and edges with
positions relative to the block's corner, at one of two levels:

* level 1 (semantic): a step block shows its cell: the input [x, h], W·[x, h] + b with the weights
  it reads, one node per gate (LSTM i, j, f, o; GRU r, u, candidate), the state updates (c, h), the
  equations on hover. A loop block shows the loop: the While op (or Enter/Exit of a v1 frame) and
  its body function, the condition with the trip count, the loop variables with shapes, the
  TensorArray/TensorList reads and writes, the body (the same cell view as a step block, one per
  cell), the back edge, and nested loops inside it.
* level 2: the ops, placed by a layered layout, each labelled by its role in the cell.

What it is not: it classifies nothing; gate names, roles and loop facts come from `Facts`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rnnviz.structure.facts import CellFacts, CellKindView, Facts
from rnnviz.structure.layout import OP_H, OP_W, dot_layout

MAX_OPS = 120  # ops drawn in one expanded block before a "+k more" node
LOOPOP_W = 330  # the While op's node is wide: its label names the body function
MAX_VARS = 8  # loop variables drawn one by one before a "+k more" node
_READS = ("TensorListGetItem", "TensorArrayReadV3", "TensorArrayGatherV3", "TensorListGather")
_WRITES = ("TensorListSetItem", "TensorArrayWriteV3", "TensorArrayScatterV3")
_ROLE_WORDS = {
    "concat": "[x, h]",
    "matmul": "W·[x, h]",
    "bias": "+ b",
    "split": "split gates",
    "const": "constant",
    "peephole": "peephole",
    "projection": "projection",
    "clip": "clip",
}

Nodes = list[dict[str, Any]]
Edges = list[dict[str, Any]]


SHORT_CHARS = 9  # the far-out label of an inner node: what fits it when zoomed out


def _short(label: str) -> str:
    first = label.split("\n", 1)[0].strip()
    return first if len(first) <= SHORT_CHARS else first[: SHORT_CHARS - 1] + "…"


def _node(cid: str, key: str, kind: str, label: str, x: float, y: float, **extra: Any) -> dict:
    short = extra.pop("short", None) or _short(label)
    return {
        "id": f"{cid}::{key}",
        "kind": kind,
        "label": label,
        "short": short,
        "x": x,
        "y": y,
        **extra,
    }


def _edge(cid: str, a: str, b: str, **extra: Any) -> dict:
    return {
        "id": f"{cid}::{a}->{b}",
        "source": f"{cid}::{a}",
        "target": f"{cid}::{b}",
        "n": 1,
        **extra,
    }


def _equation(kind: CellKindView, key: str) -> str:
    lines = [ln for ln in kind.equations.splitlines() if ln.replace(" ", "").startswith(f"{key}")]
    return "\n".join(ln for ln in lines if ln.split("=")[0].strip().rstrip("'").endswith(key)) or ""


def role_label(role: str, kind: CellKindView | None) -> str:
    """Words for an op's role in its cell: "gate:i" -> "i input gate"."""
    head, _, key = role.partition(":")
    if head == "gate" and kind is not None:
        for g in kind.gates:
            if g.key == key:
                return f"{key} {g.label}"
    if head == "state":
        return f"{key} update"
    return _ROLE_WORDS.get(role, role)


def cell_view(
    cid: str,
    prefix: str,
    kind: CellKindView,
    roles: dict[str, str],
    weights: Sequence[dict[str, Any]],
    ox: float,
    oy: float,
    parent: str,
) -> tuple[Nodes, Edges, float, float]:
    """The semantic picture of one cell call, `prefix` keeping ids apart inside a loop body."""
    by_role: dict[str, list[str]] = {}
    for name, role in roles.items():
        by_role.setdefault(role, []).append(name)
    common = {"parent": parent}
    oy += 1.1 * OP_H  # room for the weights above the first gate
    gates = kind.gates
    mid = max(len(gates) - 1, 1) / 2
    nodes, edges = _cell_inputs(cid, prefix, by_role, weights, ox, oy, mid, common)
    gn, ge = _cell_gates(cid, prefix, kind, by_role, ox, oy, common)
    sn, se = _cell_states(cid, prefix, kind, by_role, ox, oy, mid, common)
    nodes += gn + sn
    edges += ge + se
    width = 3 * OP_W + 10
    height = (max(len(gates), 2) + 1.1) * OP_H + OP_H
    return nodes, edges, width, height


def _cell_inputs(
    cid: str,
    prefix: str,
    by_role: dict[str, list[str]],
    weights: Sequence[dict[str, Any]],
    ox: float,
    oy: float,
    mid: float,
    common: dict[str, str],
) -> tuple[Nodes, Edges]:
    """A cell's first column: the input [x, h] and the weights, both feeding W·[x, h] + b."""
    mm_ops = [n for r in ("concat", "matmul", "bias", "split") for n in by_role.get(r, ())]
    nodes = [
        _node(
            cid,
            f"{prefix}in",
            "io",
            "x_t, h_t-1",
            ox,
            oy + (mid - 0.5) * OP_H,
            short="x, h",
            tip="this step's input and the previous state",
            **common,
        ),
        _weights_node(cid, prefix, weights, ox, oy, common),
        _node(
            cid,
            f"{prefix}mm",
            "matmul",
            "W·[x, h] + b",
            ox,
            oy + (mid + 0.5) * OP_H,
            short="W·x+b",
            tip="one MatMul and BiasAdd computes every gate's pre-activation",
            ops=mm_ops,
            **common,
        ),
    ]
    edges = [
        _edge(cid, f"{prefix}in", f"{prefix}mm"),
        _edge(cid, f"{prefix}w", f"{prefix}mm", cls="weight"),
    ]
    return nodes, edges


def _weights_node(
    cid: str,
    prefix: str,
    weights: Sequence[dict[str, Any]],
    ox: float,
    oy: float,
    common: dict[str, str],
) -> dict:
    """The weights a cell reads, above its first column: each variable's short name and shape."""
    w_text = "\n".join(
        f"{w['name'].rpartition('cell/')[2] or w['name']} {'×'.join(map(str, w.get('shape') or []))}"
        for w in weights
    )
    return _node(
        cid,
        f"{prefix}w",
        "weights",
        f"weights\n{w_text}" if w_text else "weights",
        ox,
        oy - 1.1 * OP_H,
        tip="\n".join(w["name"] for w in weights) or "weights read by this cell",
        weights=[w["name"] for w in weights],
        **common,
    )


def _cell_gates(
    cid: str,
    prefix: str,
    kind: CellKindView,
    by_role: dict[str, list[str]],
    ox: float,
    oy: float,
    common: dict[str, str],
) -> tuple[Nodes, Edges]:
    """A cell's second column: one node per gate with its activation, each fed by W·[x, h] + b."""
    nodes: Nodes = []
    edges: Edges = []
    for k, g in enumerate(kind.gates):
        act = "σ" if g.activation == "sigmoid" else g.activation
        nodes.append(
            _node(
                cid,
                f"{prefix}g{g.key}",
                "gate",
                f"{g.key}  {g.label}\n{act}",
                ox + OP_W,
                oy + k * OP_H,
                gate=g.key,
                short=f"{g.key} {act}",
                tip=_equation(kind, g.key) or g.label,
                ops=by_role.get(f"gate:{g.key}", []),
                **common,
            )
        )
        edges.append(_edge(cid, f"{prefix}mm", f"{prefix}g{g.key}"))
    return nodes, edges


def _cell_states(
    cid: str,
    prefix: str,
    kind: CellKindView,
    by_role: dict[str, list[str]],
    ox: float,
    oy: float,
    mid: float,
    common: dict[str, str],
) -> tuple[Nodes, Edges]:
    """A cell's third column: the state updates (c, h) with their equations. The first state
    reads every gate (W·[x, h] + b when the kind has none), each next one the state before it."""
    gates = kind.gates
    nodes: Nodes = []
    edges: Edges = []
    prev = None
    for k, s in enumerate(kind.states):
        eq = _equation(kind, s)
        nodes.append(
            _node(
                cid,
                f"{prefix}s{s}",
                "state",
                f"{s} update\n{eq.splitlines()[0] if eq else ''}".strip(),
                ox + 2 * OP_W + 10,
                oy + (mid + k - (len(kind.states) - 1) / 2) * OP_H,
                tip=eq or f"new {s}",
                ops=by_role.get(f"state:{s}", []),
                state=s,
                short=f"{s}'",
                **common,
            )
        )
        sources = [f"{prefix}g{g.key}" for g in gates] if prev is None else [prev]
        if prev is not None and gates:
            sources.append(f"{prefix}g{gates[-1].key}")  # LSTM: o feeds h
        if not gates and prev is None:
            sources = [f"{prefix}mm"]
        edges += [_edge(cid, a, f"{prefix}s{s}") for a in sources]
        prev = f"{prefix}s{s}"
    return nodes, edges


def step_view(cid: str, block: dict[str, Any], cells: Sequence[CellFacts], facts: Facts):
    """Level 1 of a step block: its cell; None when the analysis found no cell call in it."""
    if len(cells) != 1:
        return None
    cell = cells[0]
    weights = facts.weights.get((cell.layer, cell.direction), []) if cell.layer is not None else []
    return cell_view(cid, "", cell.kind, cell.roles, weights, 0, 0, cid)


def loop_view(
    cid: str,
    loop: dict[str, Any] | None,
    ops: Sequence[tuple[str, str]],
    cells: Sequence[CellFacts],
    facts: Facts,
):
    """Level 1 of a loop block: the loop's parts around the body's cells."""
    loop = loop or {}
    p = {"parent": cid}
    types = Counter(op for _, op in ops)
    trip = loop.get("trip_count")
    lvars = _sorted_loop_vars(loop)
    nodes = [_loop_op_node(cid, loop, types, p), _cond_node(cid, loop, p)]
    nodes += _loop_var_nodes(cid, lvars, p)
    edges = [_edge(cid, "cond", "op")]
    x_body = OP_W * 1.5
    nodes.append(_list_node(cid, "read", "read x_t", types, _READS, x_body - OP_W * 0.2, p))
    body_id = f"{cid}::body"
    nodes.append(
        {
            "id": body_id,
            "kind": "body",
            "short": "body",
            "label": f"body (runs {trip if trip is not None else '?'} times)",
            "parent": cid,
        }
    )
    y = OP_H * 2.2
    cn, ce, last_state, y = _body_cells(cid, cells, facts, x_body, y, body_id)
    nodes += cn
    edges += ce
    rest, y = _rest_node(cid, ops, cells, x_body, y, body_id)
    if rest:
        nodes += rest
        last_state = last_state or "rest"
    inner, y = _nested_loop_nodes(cid, loop, facts, x_body, y, body_id)
    nodes += inner
    x_out = x_body + 3 * OP_W + 80
    nodes.append(_list_node(cid, "write", "write h_t", types, _WRITES, x_out, p))
    edges.append(_edge(cid, last_state, "write"))
    edges += _back_edges(cid, last_state, lvars)
    return nodes, edges, x_out + OP_W, max(y, OP_H * (3 + min(len(lvars), MAX_VARS)))


def _loop_op_node(cid: str, loop: dict[str, Any], types: Counter, p: dict[str, str]) -> dict:
    """The loop's own op: a v2 While op naming its body (and condition) function, or the Enter
    and Exit counts of a v1 frame."""
    v2 = loop.get("kind") == "v2_while" or bool(loop.get("body_function"))
    head = (
        f"While op · body {loop.get('body_function') or '?'}"
        + (f"\ncond {loop['cond_function']}" if loop.get("cond_function") else "")
        if v2
        else f"v1 frame · Enter ×{types.get('Enter', 0)} · Exit ×{types.get('Exit', 0)}"
    )
    return _node(
        cid,
        "op",
        "loopop",
        head,
        (LOOPOP_W - OP_W) / 2,  # left-aligned with the column below
        0,
        short="While" if v2 else "v1 frame",
        w=LOOPOP_W,
        tip=f"loop {loop.get('name', cid)} ({loop.get('role', '')})",
        **p,
    )


def _cond_node(cid: str, loop: dict[str, Any], p: dict[str, str]) -> dict:
    """The loop's condition with its trip count and where the count came from."""
    trip = loop.get("trip_count")
    src = loop.get("trip_count_source")
    trip_text = (
        f"trip count {trip}" + (f" ({src})" if src else "")
        if trip is not None
        else "trip count unknown"
    )
    return _node(
        cid,
        "cond",
        "cond",
        f"condition  i < T\n{trip_text}",
        0,
        OP_H * 1.2,
        trip=trip,
        short=f"× {trip if trip is not None else '?'}",
        tip="the loop runs while the condition holds",
        **p,
    )


def _sorted_loop_vars(loop: dict[str, Any]) -> list[dict[str, Any]]:
    """The loop variables in drawing order."""
    # States first (float tensors of rank >= 2: h, c), then counters and TensorLists.
    return sorted(
        loop.get("loop_vars") or (),
        key=lambda v: (
            not (str(v.get("dtype", "")).startswith("float") and len(v.get("shape") or ()) >= 2)
        ),
    )


def _loop_var_nodes(cid: str, lvars: Sequence[dict[str, Any]], p: dict[str, str]) -> Nodes:
    """One node per loop variable with its dtype and shape, the first MAX_VARS of them, then a
    "+k more" node."""
    nodes: Nodes = []
    for k, v in enumerate(lvars[:MAX_VARS]):
        shape = (
            "×".join("?" if d is None or d == -1 else str(d) for d in (v.get("shape") or []))
            or "scalar"
        )
        nodes.append(
            _node(
                cid,
                f"v{k}",
                "var",
                f"{v['name'].rsplit('/', 1)[-1]}\n{v.get('dtype', '')}[{shape}]",
                0,
                OP_H * (2.6 + k),
                short=f"[{shape}]",
                tip=f"loop variable {v['name']}: {v.get('dtype', '')}[{shape}]",
                **p,
            )
        )
    if len(lvars) > MAX_VARS:
        nodes.append(
            _node(
                cid,
                "vmore",
                "more",
                f"+{len(lvars) - MAX_VARS} more loop variables",
                0,
                OP_H * (2.6 + MAX_VARS),
                **p,
            )
        )
    return nodes


def _list_node(
    cid: str,
    key: str,
    what: str,
    types: Counter,
    names: Sequence[str],
    x: float,
    p: dict[str, str],
) -> dict:
    """The TensorArray/TensorList reads (`key` "read") or writes ("write") of the body: the op
    type found and how many of them."""
    count = sum(types.get(t, 0) for t in names)
    return _node(
        cid, key, "io", f"{what}\n{_named(types, names)} ×{count}", x, OP_H * 1.2, short=key, **p
    )


def _body_cells(
    cid: str,
    cells: Sequence[CellFacts],
    facts: Facts,
    x_body: float,
    y: float,
    body_id: str,
) -> tuple[Nodes, Edges, str | None, float]:
    """The body's cells, one box each, stacked from `y`: each cell reads the previous cell's
    last state (the first reads x_t). Returns the last state's key and the next free y."""
    nodes: Nodes = []
    edges: Edges = []
    last_state = None
    for k, (layer, direction, kind, roles) in enumerate(cells):
        weights = facts.weights.get((layer, direction), []) if layer is not None else []
        box = f"{cid}::cell{k}"
        nodes.append(
            {
                "id": box,
                "kind": "cellbox",
                "short": kind.label,
                "label": f"{kind.label} cell{'' if layer is None else f' · layer {layer}'}",
                "parent": body_id,
            }
        )
        cn, ce, _w, h = cell_view(cid, f"c{k}", kind, roles, weights, x_body, y, box)
        nodes += cn
        edges += ce
        if last_state is not None:
            edges.append(_edge(cid, last_state, f"c{k}in"))
        else:
            edges.append(_edge(cid, "read", f"c{k}in"))
        last_state = f"c{k}s{kind.states[-1]}"
        y += h + 40
    return nodes, edges, last_state, y


def _rest_node(
    cid: str,
    ops: Sequence[tuple[str, str]],
    cells: Sequence[CellFacts],
    x_body: float,
    y: float,
    body_id: str,
) -> tuple[Nodes, float]:
    """One node for the body's ops outside its cells (all of them when no cell was found), with
    the commonest op types; none when the cells hold every op."""
    in_cells = {n for cell in cells for n in cell.roles}
    rest = [op for n, op in ops if n not in in_cells]
    if not (rest or not cells):
        return [], y
    common = ", ".join(f"{o} ×{c}" for o, c in Counter(rest).most_common(3))
    node = _node(
        cid,
        "rest",
        "more",
        f"{len(rest)} other body ops\n{common}",
        x_body,
        y,
        parent=body_id,
        tip="ops of the body outside the cells (level 2 shows them)",
    )
    return [node], y + OP_H


def _nested_loop_nodes(
    cid: str,
    loop: dict[str, Any],
    facts: Facts,
    x_body: float,
    y: float,
    body_id: str,
) -> tuple[Nodes, float]:
    """One node per loop nested in this loop's body, with its trip count, stacked from `y`."""
    nodes: Nodes = []
    for k, inner in enumerate(
        lp for lp in facts.loops.values() if lp.get("parent") == loop.get("name")
    ):
        tc = inner.get("trip_count")
        nodes.append(
            _node(
                cid,
                f"inner{k}",
                "innerloop",
                f"nested while loop\n{inner['name'].rsplit('/', 1)[-1]} · trip {tc if tc is not None else '?'}",
                x_body,
                y,
                parent=body_id,
                tip=inner["name"],
            )
        )
        y += OP_H * 1.3
    return nodes, y


def _back_edges(cid: str, last_state: str | None, lvars: Sequence[dict[str, Any]]) -> Edges:
    """The back edge: the body's last state feeds the next iteration, through the first loop
    variable (the state) to the condition when the loop variables are known."""
    if lvars:
        return [
            _edge(cid, last_state, "v0", cls="back", label="back edge: next iteration"),
            _edge(cid, "v0", "cond"),
        ]
    return [_edge(cid, last_state, "cond", cls="back", label="back edge: next iteration")]


def _named(types: Counter, names: Sequence[str]) -> str:
    found = [n for n in names if types.get(n)]
    return found[0] if found else names[0]


def ops_view(
    cid: str,
    ops: Sequence[tuple[str, str]],
    pairs: Sequence[tuple[int, int]],
    cells: Sequence[CellFacts],
    limit: int,
):
    """Level 2: the ops, placed by `dot`, labelled by their role in the cell when it is known."""
    roles: dict[str, str] = {}
    kind_of: dict[str, Any] = {}
    for cell in cells:
        roles.update(cell.roles)
        kind_of.update(dict.fromkeys(cell.roles, cell.kind))
    shown = min(len(ops), limit)
    inner = [(a, b) for a, b in pairs if a < shown and b < shown]
    pos = dot_layout(shown, inner)
    nodes: Nodes = []
    for k, ((name, op), (x, y)) in enumerate(zip(ops[:shown], pos, strict=True)):
        role = roles.get(name)
        words = role_label(role, kind_of.get(name)) if role else name.rsplit("/", 1)[-1]
        nodes.append(
            _node(
                cid,
                str(k),
                "op",
                f"{words}\n{op}",
                x,
                y + 30,
                name=name,
                short=_short(op),
                op=op,
                role=role or "",
                parent=cid,
            )
        )
    edges = [_edge(cid, str(a), str(b)) for a, b in inner]
    height = max((y for _, y in pos), default=0) + OP_H + 30
    if len(ops) > shown:
        nodes.append(
            _node(cid, "more", "more", f"+{len(ops) - shown} more ops", 0, height, parent=cid)
        )
        height += OP_H
    width = max((x for x, _ in pos), default=0) + OP_W
    return nodes, edges, width, height
