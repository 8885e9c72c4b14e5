"""Find every while loop: v1 frames (Enter/Exit inline) and v2 `While`/`StatelessWhile` ops.

For each loop: name, loop variables (dtype, shape), body op count and op-type histogram,
`parallel_iterations`, `swap_memory` (v1: read from the gradient stacks' attribute; v2 does not
record it), and the trip count when the graph fixes it. v1 frame membership is found by walking
forward from the frame's Enter ops (data and control edges) up to its Exit ops.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rnnviz.reporting.graph import GraphIndex, GraphSet, dtype_name, shape_of_proto
from rnnviz.reporting.model import LoopInfo, LoopVar
from rnnviz.reporting.roles import role_of

WHILE_OPS = frozenset({"While", "StatelessWhile"})
_ENTER_OPS = frozenset({"Enter", "RefEnter"})


def find_loops(graph_def: Any) -> list[LoopInfo]:
    """All loops of a GraphDef, v1 frames first, then v2 While ops (main graph, then functions).

    Stable API for the dashboard: a `LoopInfo` carries `body_nodes` (v1: node names of the frame
    in the main graph; v2: node names inside `body_function`).
    """
    return loops_of(GraphSet(graph_def))


def loops_of(graphs: GraphSet, frames: dict[str, list[int]] | None = None) -> list[LoopInfo]:
    main = graphs.main
    loops = v1_frames(main, frames)
    if main.op_types & WHILE_OPS:
        for i, op in enumerate(main.ops):
            if op in WHILE_OPS:
                loops.append(_v2_loop(graphs, main, i, None))
    for fname in graphs.function_names:
        func = graphs.function(fname)
        for i, op in enumerate(func.ops):
            if op in WHILE_OPS:
                loops.append(_v2_loop(graphs, func, i, fname))
    return loops


def frame_members(main: GraphIndex) -> dict[str, list[int]]:
    """v1 frame name -> indexes of the nodes inside that frame (nested frames kept apart)."""
    ops = main.ops
    enters: dict[str, list[int]] = defaultdict(list)
    if not (main.op_types & _ENTER_OPS):
        return {}
    for i, op in enumerate(ops):
        if op in _ENTER_OPS:
            frame = main.attr(i, "frame_name")
            enters[frame.s.decode("utf-8", "replace") if frame is not None else "?"].append(i)
    if not enters:
        return {}
    consumers = main.all_consumers()
    owner: dict[int, str] = {}
    members: dict[str, list[int]] = {}
    for frame, starts in enters.items():
        seen = set(starts)
        todo = list(starts)
        while todo:
            i = todo.pop()
            if ops[i] == "Exit":
                continue  # the Exit belongs to the frame, what it feeds does not
            for j in consumers[i]:
                if j in seen or ops[j] in _ENTER_OPS:  # another Enter starts a nested frame
                    continue
                if j in owner and owner[j] != frame:
                    continue
                seen.add(j)
                todo.append(j)
        for j in seen:
            owner.setdefault(j, frame)
        members[frame] = sorted(seen)
    return members


def v1_frames(main: GraphIndex, frames: dict[str, list[int]] | None = None) -> list[LoopInfo]:
    out = []
    frames = frame_members(main) if frames is None else frames
    for frame, members in frames.items():
        names = [main.names[i] for i in members]
        enters = [i for i in members if main.ops[i] in _ENTER_OPS]
        loop_vars, parallel = [], None
        for i in enters:
            attr_const = main.attr(i, "is_constant")
            attr_par = main.attr(i, "parallel_iterations")
            if attr_par is not None:
                parallel = int(attr_par.i)
            if attr_const is not None and attr_const.b:
                continue
            t = main.attr(i, "T")
            shapes = main.attr(i, "_output_shapes")
            shape = (
                shape_of_proto(shapes.list.shape[0])
                if shapes is not None and shapes.list.shape
                else None
            )
            loop_vars.append(LoopVar(main.names[i], dtype_name(t.type) if t else "?", shape))
        swap = None
        for i in members:
            if main.ops[i] == "StackPushV2":
                attr = main.attr(i, "swap_memory")
                swap = bool(swap) or bool(attr is not None and attr.b)
        body = [i for i in members if main.ops[i] not in _ENTER_OPS]
        label = frame.removesuffix("/while_context")
        out.append(
            LoopInfo(
                name=label,
                kind="v1_frame",
                role=role_of(label + "/x", "Enter"),
                body_ops=len(body),
                body_op_types=dict(Counter(main.ops[i] for i in body).most_common()),
                body_nodes=tuple(names),
                loop_vars=tuple(loop_vars),
                parallel_iterations=parallel,
                swap_memory=swap,
                trip_count=None,
            )
        )
    return out


def _v2_loop(graphs: GraphSet, where: GraphIndex, i: int, in_function: str | None) -> LoopInfo:
    node = where.node(i)
    body_name = node.attr["body"].func.name if "body" in node.attr else ""
    body = graphs.function(body_name)
    types = list(node.attr["T"].list.type) if "T" in node.attr else []
    shapes = list(node.attr["output_shapes"].list.shape) if "output_shapes" in node.attr else []
    arg_names = list(body.arg_names) if body is not None else []
    loop_vars = []
    for k, t in enumerate(types):
        shape = shape_of_proto(shapes[k]) if k < len(shapes) else None
        loop_vars.append(
            LoopVar(arg_names[k] if k < len(arg_names) else f"arg{k}", dtype_name(t), shape)
        )
    par = node.attr["parallel_iterations"].i if "parallel_iterations" in node.attr else None
    return LoopInfo(
        name=node.name,
        kind="v2_while",
        role=role_of(node.name, node.op),
        body_ops=len(body) if body is not None else 0,
        body_op_types=dict(Counter(body.ops).most_common()) if body is not None else {},
        body_nodes=tuple(body.names) if body is not None else (),
        loop_vars=tuple(loop_vars),
        parallel_iterations=int(par) if par is not None else None,
        swap_memory=None,
        trip_count=_const_trip_count(where, i),
        body_function=body_name or None,
        in_function=in_function,
    )


def _const_trip_count(where: GraphIndex, i: int) -> int | None:
    """while_v2 passes maximum_iterations as loop input 1: a Const there fixes the trip count."""
    ins = where.data_inputs(i)
    if len(ins) < 2:
        return None
    j = ins[1][0]
    if where.ops[j] != "Const":
        return None
    tensor = where.node(j).attr["value"].tensor
    vals = list(tensor.int_val) or list(tensor.int64_val)
    return int(vals[0]) if len(vals) == 1 and vals[0] >= 0 else None


__all__ = ["WHILE_OPS", "find_loops", "frame_members", "loops_of", "v1_frames"]
