"""Which time step each forward op of an unrolled (static_rnn) graph belongs to.

An unrolled cell is a weight matrix read by several forward MatMuls in the main graph: one per
call, so the number of calls is the number of unrolled steps. Every call of a cell creates the same
ops in the same name scope, and TensorFlow numbers repeated names in creation order (`mul`,
`mul_1`, ...), so with n ops of one base name per call, op `mul_k` belongs to call k // n. A
backward cell's call k processes time step T-1-k. Layer and direction come from the builder's
record (`BuiltModel.step_tensors`) when given, otherwise from the graph: direction from a `bw`
scope, layer from the order in which the cells first appear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.reporting.graph import (
    VARIABLE_OPS,
    GraphIndex,
    direction_of_scope,
    number_layers,
    numbered,
    strip_sub_scope,
    tensor_node,
    time_step,
)
from rnnviz.reporting.roles import roles_of

StepTag = tuple[int, str, int]  # (layer, direction, step)


@dataclass
class Cell:
    """One unrolled recurrent cell: its variable scope, op scope and the calls found."""

    var_scope: str
    op_scope: str
    calls: int
    first_node: int
    layer: int = 0
    direction: str = "fw"
    ops: list[int] = field(default_factory=list)  # forward ops in op_scope, graph order
    call_of: dict[int, int] = field(default_factory=dict)  # op index -> call index


def weight_source(gi: GraphIndex, i: int, port: int = 1) -> int | None:
    """The variable (or placeholder) node a MatMul's operand reads, through reads and Identities."""
    ins = gi.data_inputs(i)
    if len(ins) <= port:
        return None
    return gi.walk_back(ins[port][0], VARIABLE_OPS)


def find_cells(gi: GraphIndex, roles: Sequence[str]) -> list[Cell]:
    """Unrolled cells of the main graph: weights read by 2+ forward MatMuls (one per step)."""
    by_var: dict[int, list[int]] = defaultdict(list)
    for i, op in enumerate(gi.ops):
        if op == "MatMul" and roles[i] == "forward":
            var = weight_source(gi, i)
            if var is not None:
                by_var[var].append(i)
    cells: dict[str, Cell] = {}
    for var, matmuls in by_var.items():
        if len(matmuls) < 2:
            continue
        var_scope = strip_sub_scope(gi.names[var].rpartition("/")[0])
        op_scope = strip_sub_scope(gi.names[matmuls[0]].rpartition("/")[0])
        cell = cells.get(op_scope)
        if cell is None:
            cells[op_scope] = Cell(var_scope, op_scope, len(matmuls), min(matmuls))
        else:
            cell.calls = max(cell.calls, len(matmuls))
            cell.first_node = min(cell.first_node, min(matmuls))
    ordered = sorted(cells.values(), key=lambda c: c.first_node)
    layers = number_layers((id(c), direction_of_scope(c.op_scope)) for c in ordered)
    for cell in ordered:
        cell.layer, cell.direction = layers[id(cell)]
    _assign_ops(gi, roles, ordered)
    return ordered


def _assign_ops(gi: GraphIndex, roles: Sequence[str], cells: list[Cell]) -> None:
    by_scope = {c.op_scope: c for c in cells}
    if not by_scope:
        return
    depth = max(s.count("/") for s in by_scope) + 1
    names = gi.names
    prefixes = tuple(s + "/" for s in by_scope)  # one C-level test rules out most nodes
    for i in [i for i, r in enumerate(roles) if r == "forward"]:
        name = names[i]
        if not name.startswith(prefixes):
            continue
        scope = name
        for _ in range(depth + 2):
            scope = scope.rpartition("/")[0]
            if not scope:
                break
            cell = by_scope.get(scope)
            if cell is not None:
                cell.ops.append(i)
                break
    for cell in cells:
        groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
        start = len(cell.op_scope) + 1
        for i in cell.ops:
            rel = names[i][start:].split("/")
            # The numbered component is the first one (the op, or the sub-scope it was created in).
            base, num = numbered(rel[0])
            key = base + "/" + "/".join(rel[1:])
            groups[key].append((num, i))
        for members in groups.values():
            if len(members) % cell.calls:
                continue  # created once per cell, not once per call: no step
            per_call = len(members) // cell.calls
            for rank, (_, i) in enumerate(sorted(members)):
                cell.call_of[i] = rank // per_call


def apply_record(gi: GraphIndex, cells: list[Cell], step_tensors: Sequence[Any]) -> None:
    """Take layer and direction from the builder's record instead of guessing them."""
    for st in step_tensors:
        node = gi.index.get(tensor_node(st.name))
        if node is None:
            continue
        for cell in cells:
            if node in cell.call_of:
                cell.layer, cell.direction = int(st.layer), str(st.direction)
                break


def steps_from_cells(
    cells: list[Cell], step_tensors: Sequence[Any] = (), gi: GraphIndex | None = None
) -> dict[int, StepTag]:
    tags: dict[int, StepTag] = {}
    for cell in cells:
        t = cell.calls
        # One tuple per step, shared by the ~50 ops of that step (memory on big graphs).
        per_step = [(cell.layer, cell.direction, time_step(cell.direction, k, t)) for k in range(t)]
        for i, k in cell.call_of.items():
            tags[i] = per_step[k]
    if gi is not None:  # the record is exact where it speaks
        for st in step_tensors:
            node = gi.index.get(tensor_node(st.name))
            if node is not None:
                tags[node] = (int(st.layer), str(st.direction), int(st.step))
    return tags


def tag_steps(
    gi: GraphIndex, roles: Sequence[str], step_tensors: Sequence[Any] = ()
) -> tuple[list[Cell], dict[int, StepTag]]:
    """Cells and `node index -> (layer, direction, step)` on an existing index (what
    `op_steps` does, for callers that already hold a GraphIndex and its roles)."""
    cells = find_cells(gi, roles)
    if step_tensors:
        apply_record(gi, cells, step_tensors)
    return cells, steps_from_cells(cells, step_tensors, gi)


def op_steps(graph_def: Any, step_tensors: Sequence[Any] | None = None) -> dict[str, StepTag]:
    """`node name -> (layer, direction, step)` for the forward ops of unrolled RNN cells.

    Empty for graphs with no unrolled recurrence (dynamic_rnn's loop body has no per-step ops).
    `step_tensors` is `BuiltModel.step_tensors`; with it, layer/direction/step of the recorded
    tensors come from the builder. Stable API for the dashboard.
    """
    gi = GraphIndex.of_nodes(graph_def.node)
    _, tags = tag_steps(gi, roles_of(gi.names, gi.ops), tuple(step_tensors or ()))
    return {gi.names[i]: tag for i, tag in tags.items()}


__all__ = [
    "Cell",
    "StepTag",
    "apply_record",
    "find_cells",
    "op_steps",
    "steps_from_cells",
    "tag_steps",
    "weight_source",
]
