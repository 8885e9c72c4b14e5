"""Forward FLOPs per sequence (one example), counting a loop body once per time step.

MatMul counts 2*m*k*n; element-wise float ops one per output element; AddN (n-1) per element;
softmax / cross-entropy 3 per logit; reductions one per input element. Integer ops (loop
counters, shapes) count nothing, so a dynamic graph's `time + 1` does not tip the static/dynamic
comparison. Unknown dims (the batch) count as 1. Ops of forward v1 frames and of forward v2 loop
bodies are multiplied by the trip count; functions called through `PartitionedCall` are not
followed; a v2 `If` counts its costlier branch. tfprof, for comparison, counts a v1 loop body once and a v2 body not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rnnviz.reporting.graph import GraphIndex, GraphSet, shape_of_proto
from rnnviz.reporting.loops import WHILE_OPS
from rnnviz.reporting.model import FlopsSummary, LoopInfo
from rnnviz.reporting.shapes import Shape, Shapes

ELEMENTWISE = frozenset(
    [
        "Add",
        "AddV2",
        "Sub",
        "Mul",
        "RealDiv",
        "Div",
        "Maximum",
        "Minimum",
        "BiasAdd",
        "Sigmoid",
        "Tanh",
        "Relu",
        "Relu6",
        "Elu",
        "Selu",
        "Softsign",
        "Softplus",
        "Exp",
        "Log",
        "Log1p",
        "Sqrt",
        "Rsqrt",
        "Square",
        "Neg",
        "Reciprocal",
        "SquaredDifference",
        "ClipByValue",
        "Select",
        "SelectV2",
        "Pow",
        "LeakyRelu",
        "Erf",
        "Abs",
    ]
)
_PER_LOGIT = frozenset(
    {
        "Softmax",
        "LogSoftmax",
        "SparseSoftmaxCrossEntropyWithLogits",
        "SoftmaxCrossEntropyWithLogits",
    }
)
_REDUCTIONS = frozenset({"Sum", "Mean", "Max", "Min", "Prod"})
_NON_FLOAT = frozenset(
    {3, 9, 10, 4, 5, 6, 22, 23, 7, 20, 21}
)  # ints, bool, string, resource, variant

TFPROF_NOTE = "tfprof counts a v1 loop body once and a v2 loop body (a function) not at all"


def _elements(shape: Shape | None) -> int:
    if shape is None:
        return 0
    n = 1
    for d in shape:
        n *= d if d is not None and d >= 0 else 1
    return n


def op_flops(shapes: Shapes, i: int) -> int:
    """Forward FLOPs of one op for a batch of one (0 when the shapes are unknown)."""
    gi = shapes.gi
    op = gi.ops[i]
    if (
        op not in ELEMENTWISE
        and op != "MatMul"
        and op != "AddN"
        and op not in _PER_LOGIT
        and op not in _REDUCTIONS
    ):
        return 0
    t = gi.attr(i, "T")
    if t is not None and t.type in _NON_FLOAT:
        return 0
    if op == "MatMul":
        a, b = shapes.input_shape(i, 0), shapes.input_shape(i, 1)
        if a is None or b is None or len(a) != 2 or len(b) != 2:
            return 0
        ta, tb = gi.attr(i, "transpose_a"), gi.attr(i, "transpose_b")
        m, k = (a[1], a[0]) if ta is not None and ta.b else (a[0], a[1])
        n = b[0] if tb is not None and tb.b else b[1]
        return 2 * _elements((m,)) * _elements((k,)) * _elements((n,))
    if op in _REDUCTIONS:
        return _elements(shapes.input_shape(i, 0))
    if op in _PER_LOGIT:
        return 3 * _elements(shapes.input_shape(i, 0))
    out = _elements(shapes.shape(i, 0))
    if op == "AddN":
        return out * max(len(shapes.inputs(i)) - 1, 0)
    return out


def _count(shapes: Shapes, members: Sequence[int], by_type: Counter, times: int) -> int:
    total = 0
    ops = shapes.gi.ops
    for i in members:
        f = op_flops(shapes, i)
        if f:
            total += f
            by_type[ops[i]] += f * times
    return total


def _body_shapes(where: GraphIndex, i: int, body: GraphIndex, outer: Shapes) -> Shapes:
    """Shapes inside a v2 body: its arguments take the While op's declared loop-var shapes,
    except captured variables (resource handles, declared as scalars), which take the shape of
    the variable they are in the outer graph."""
    node = where.node(i)
    protos = list(node.attr["output_shapes"].list.shape) if "output_shapes" in node.attr else []
    types = list(node.attr["T"].list.type) if "T" in node.attr else []
    args = {}
    for k, name in enumerate(body.arg_names):
        if k < len(types) and types[k] == 20:  # DT_RESOURCE
            args[name] = outer.input_shape(i, k)
        else:
            args[name] = shape_of_proto(protos[k]) if k < len(protos) else None
    return Shapes(body, args)


def _unrolled_cells(shapes: Shapes, cells: Sequence[Any], by_type: Counter) -> tuple[int, set[int]]:
    """FLOPs of unrolled cells, fast: every call of a cell creates the same ops (that is how
    timesteps.py found the calls), so once calls 1 and 2 are checked to cost the same, op by op
    type, call 1 stands for calls 1..T-1. Call 0 is counted on its own (it reads the zero
    state). Returns (flops, ops covered)."""
    total, covered = 0, set()
    for cell in cells:
        if cell.calls < 4:
            continue
        calls: list[list[int]] = [[] for _ in range(cell.calls)]
        for i, k in cell.call_of.items():
            calls[k].append(i)
        if any(len(c) != len(calls[0]) for c in calls):
            continue
        t1: Counter = Counter()
        t2: Counter = Counter()
        f1 = _count(shapes, calls[1], t1, 1)
        f2 = _count(shapes, calls[2], t2, 1)
        if f1 != f2 or t1 != t2:
            continue
        total += _count(shapes, calls[0], by_type, 1) + f1 * (cell.calls - 1)
        for op, f in t1.items():
            by_type[op] += f * (cell.calls - 1)
        covered.update(cell.call_of)
    return total, covered


def _if_flops(graphs: GraphSet, shapes: Shapes, i: int, by_type: Counter) -> int:
    """A v2 cond (static_rnn with sequence_length) counts its costlier branch: the one that runs
    the cell; the other only copies states through."""
    node = shapes.gi.node(i)
    best, best_types = 0, Counter()
    for key in ("then_branch", "else_branch"):
        body = graphs.function(node.attr[key].func.name) if key in node.attr else None
        if body is None:
            continue
        args = {name: shapes.input_shape(i, k + 1) for k, name in enumerate(body.arg_names)}
        types: Counter = Counter()
        got = _count(Shapes(body, args), range(len(body)), types, 1)
        if got > best:
            best, best_types = got, types
    by_type.update(best_types)
    return best


def count_flops(
    graphs: GraphSet,
    roles: Sequence[str],
    loops: Sequence[LoopInfo],
    frames: dict[str, list[int]],
    trip_count: int | None,
    shapes: Shapes | None = None,
    cells: Sequence[Any] = (),
) -> FlopsSummary:
    """The flops part of the report. `frames`: v1 frame -> member nodes (from loops.frame_members)."""
    main = graphs.main
    shapes = shapes or Shapes(main)
    by_type: Counter = Counter()
    in_forward_frame: set[int] = set()
    for frame, members in frames.items():
        label = frame.removesuffix("/while_context")
        if any(lp.name == label and lp.role == "forward" for lp in loops):
            in_forward_frame.update(members)
    forward = [i for i, r in enumerate(roles) if r == "forward"]
    outside = [i for i in forward if i not in in_forward_frame]
    times = trip_count or 0
    cell_flops, covered = _unrolled_cells(shapes, cells, by_type)
    outside_flops = cell_flops + _count(
        shapes, [i for i in outside if i not in covered], by_type, 1
    )
    per_step = _count(shapes, sorted(in_forward_frame), by_type, times)
    has_loop = bool(in_forward_frame)
    for i in outside:
        if main.ops[i] in ("If", "StatelessIf"):
            outside_flops += _if_flops(graphs, shapes, i, by_type)
    for i in forward:
        if main.ops[i] in WHILE_OPS:
            node = main.node(i)
            body = graphs.function(node.attr["body"].func.name) if "body" in node.attr else None
            if body is None:
                continue
            has_loop = True
            per_step += _count(
                _body_shapes(main, i, body, shapes), range(len(body)), by_type, times
            )
    if has_loop and trip_count is None:
        total = None
        note = (
            "the graph has a loop whose trip count is unknown: pass steps (rnnviz report --steps T)"
        )
    else:
        total = outside_flops + per_step * (trip_count or 0)
        note = (
            f"per example; loop body counted {trip_count} times (once per time step)"
            if has_loop
            else "per example; no loop: every step is unrolled in the graph"
        )
    return FlopsSummary(
        forward_per_sequence=total,
        outside_loops=outside_flops,
        loop_body_per_step=per_step,
        trip_count=trip_count if has_loop else None,
        by_type=dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
        note=note,
    )


def tfprof_flops(graph: Any) -> int:
    """tfprof's float-op count of a tf.Graph (its own rules; see TFPROF_NOTE)."""
    from rnnviz.tfcompat import native_output_silenced, v1

    opts = v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    with native_output_silenced():  # tfprof prints "N ops no flops stats ..." from C++
        return int(v1.profiler.profile(graph, options=opts).total_float_ops)


def tfprof_params(graph: Any) -> int:
    """tfprof's trainable-parameter count of a tf.Graph."""
    from rnnviz.tfcompat import native_output_silenced, v1

    opts = v1.profiler.ProfileOptionBuilder.trainable_variables_parameter()
    opts["output"] = "none"
    with native_output_silenced():
        return int(v1.profiler.profile(graph, options=opts).total_parameters)


__all__ = ["ELEMENTWISE", "TFPROF_NOTE", "count_flops", "op_flops", "tfprof_flops", "tfprof_params"]
