"""Forward FLOPs per sequence (one example), every loop body counted once per time step.

MatMul counts 2*m*k*n; element-wise float ops one per output element; AddN (n-1) per element;
softmax / cross-entropy 3 per logit; reductions one per input element; a fused cell op (LSTMBlockCell,
GRUBlockCell, BlockLSTM, CudnnRNN) its gate MatMuls plus a few element-wise ops per unit and step.
Integer ops (loop counters, shapes) count nothing, so a dynamic graph's `time + 1` does not tip the
static/dynamic comparison. Unknown dims (the batch) count as 1.

Counted over the tree of bodies `loops.walk_loops` finds: called functions once per call, an
`If`/`Case` its costlier branch, a loop its body times its trip count, nested loops multiplied by
every trip count around them. Each loop's `flops_per_step` is its body run once. tfprof, for
comparison, counts a v1 loop body once and a v2 body (a function) not at all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.reporting.loops import Body, Child, LoopWalk
from rnnviz.reporting.model import FlopsSummary, LoopInfo
from rnnviz.reporting.shapes import Shape, Shapes
from rnnviz.reporting.shapes import broadcast as _broadcast

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
    op = shapes.gi.ops[i]
    rule = _OP_RULES.get(op)
    if rule is None:
        if op in ELEMENTWISE:
            rule = _elementwise
        elif op in _REDUCTIONS:
            rule = _reduction
        elif op in _PER_LOGIT:
            rule = _per_logit
        else:
            return 0
    t = shapes.gi.attr(i, "T")
    if t is not None and t.type in _NON_FLOAT:
        return 0
    return rule(shapes, i)


def _flag(shapes: Shapes, i: int, key: str) -> bool:
    a = shapes.gi.attr(i, key)
    return bool(a is not None and a.b)


def _matmul(shapes: Shapes, i: int) -> int:
    a, b = shapes.input_shape(i, 0), shapes.input_shape(i, 1)
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return 0
    m, k = (a[1], a[0]) if _flag(shapes, i, "transpose_a") else (a[0], a[1])
    n = b[0] if _flag(shapes, i, "transpose_b") else b[1]
    return 2 * _elements((m, k, n))


def _batch_matmul(shapes: Shapes, i: int) -> int:
    """2*m*k*n per matrix of the broadcast batch (adj_x / adj_y transpose the last two dims)."""
    a, b = shapes.input_shape(i, 0), shapes.input_shape(i, 1)
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return 0
    m, k = (a[-1], a[-2]) if _flag(shapes, i, "adj_x") else (a[-2], a[-1])
    n = b[-2] if _flag(shapes, i, "adj_y") else b[-1]
    batch = _broadcast(a[:-2], b[:-2])
    return 2 * _elements((*(batch or ()), m, k, n))


def _elementwise(shapes: Shapes, i: int) -> int:
    return _elements(shapes.shape(i, 0))


def _addn(shapes: Shapes, i: int) -> int:
    return _elements(shapes.shape(i, 0)) * max(len(shapes.inputs(i)) - 1, 0)


def _reduction(shapes: Shapes, i: int) -> int:
    return _elements(shapes.input_shape(i, 0))


def _per_logit(shapes: Shapes, i: int) -> int:
    return 3 * _elements(shapes.input_shape(i, 0))


def _count(shapes: Shapes, members: Sequence[int], by_type: Counter, times: int) -> int:
    total = 0
    ops = shapes.gi.ops
    for i in members:
        f = op_flops(shapes, i)
        if f:
            total += f
            by_type[ops[i]] += f * times
    return total


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


# ---- fused cell ops: their gate MatMuls plus the element-wise work per unit and step ------------
# Element-wise FLOPs per unit and step: LSTM bias 4, gate activations 4, state update 3, output 2,
# forget bias 1 (+6 with peepholes); GRU bias 3, gates 2, reset 1, candidate 1, update 3; RNN 2.
_EW_PER_UNIT = {"lstm": 14, "gru": 10, "rnn_tanh": 2, "rnn_relu": 2}
_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _dim(shape: Shape | None, k: int) -> int:
    """Dimension k of a shape, 1 when unknown (the batch, or a shape not inferred)."""
    d = shape[k] if shape is not None and -len(shape) <= k < len(shape) else None
    return d if d is not None and d > 0 else 1


def _cell_step(x: int, units: int, kind: str, peephole: bool = False) -> int:
    """One step of one cell at batch 1: 2*(inputs+units)*gates*units + element-wise work."""
    ew = _EW_PER_UNIT[kind] + (6 if peephole else 0)
    return 2 * (x + units) * _GATES[kind] * units + ew * units


def _uses_peephole(shapes: Shapes, i: int) -> bool:
    a = shapes.gi.attr(i, "use_peephole")
    return bool(a is not None and a.b)


def _from_weight(shapes: Shapes, i: int, k: int, gates: int) -> tuple[int, int] | None:
    """(inputs, units) from a fused cell's weight input k, shaped [inputs + units, gates*units]."""
    w = shapes.input_shape(i, k)
    if w is None or len(w) != 2 or None in w or w[1] % gates:  # type: ignore[operator]
        return None
    units = w[1] // gates  # type: ignore[operator]
    return w[0] - units, units  # type: ignore[operator]


def _lstm_block_cell(shapes: Shapes, i: int) -> int:
    """LSTMBlockCell(x, cs_prev, h_prev, w, wci, wcf, wco, b): one step."""
    sizes = _from_weight(shapes, i, 3, 4)
    return _cell_step(*sizes, "lstm", _uses_peephole(shapes, i)) if sizes else 0


def _gru_block_cell(shapes: Shapes, i: int) -> int:
    """GRUBlockCell(x, h_prev, w_ru, w_c, b_ru, b_c): one step."""
    sizes = _from_weight(shapes, i, 2, 2)
    return _cell_step(*sizes, "gru") if sizes else 0


def _block_lstm(shapes: Shapes, i: int) -> int:
    """BlockLSTM(V2)(seq_len_max, x [T, batch, inputs], cs_prev, h_prev, w, ...): every step."""
    sizes = _from_weight(shapes, i, 4, 4)
    if not sizes:
        return 0
    return _dim(shapes.input_shape(i, 1), 0) * _cell_step(*sizes, "lstm", _uses_peephole(shapes, i))


def _cudnn_units(shapes: Shapes, i: int, inputs: int, gates: int) -> int:
    """Units from input_h [layers*dirs, batch, units], else from the flat params' size
    (one layer: gates*(inputs*u + u*u) + 2*gates*u, solved for u)."""
    h = shapes.input_shape(i, 1)
    if h is not None and h and h[-1] is not None:
        return int(h[-1])
    p = shapes.input_shape(i, 3)
    size = p[0] if p is not None and len(p) == 1 and p[0] is not None else None
    if size is None:
        return 1
    b = inputs + 2
    return max(int((-b + math.sqrt(b * b + 4 * size / gates)) / 2 + 0.5), 1)


def _cudnn(shapes: Shapes, i: int) -> int:
    """CudnnRNN*: input [T, batch, inputs] (time-major), input_h [layers*dirs, batch, units]."""
    gi = shapes.gi
    mode = gi.attr(i, "rnn_mode")
    kind = mode.s.decode() if mode is not None and mode.s else "lstm"
    direction = gi.attr(i, "direction")
    dirs = 2 if direction is not None and direction.s == b"bidirectional" else 1
    x, h = shapes.input_shape(i, 0), shapes.input_shape(i, 1)
    steps = _dim(x, 0) if _flag_default(shapes, i, "time_major", True) else _dim(x, 1)
    inputs = _dim(x, -1)
    units = _cudnn_units(shapes, i, inputs, _GATES[kind])
    layers = max(_dim(h, 0) // dirs, 1)
    per_step = _cell_step(inputs, units, kind)
    per_step += (layers - 1) * _cell_step(units * dirs, units, kind)
    return steps * dirs * per_step


def _flag_default(shapes: Shapes, i: int, key: str, default: bool) -> bool:
    a = shapes.gi.attr(i, key)
    return bool(a.b) if a is not None else default


_FUSED = {
    "LSTMBlockCell": _lstm_block_cell,
    "GRUBlockCell": _gru_block_cell,
    "BlockLSTM": _block_lstm,
    "BlockLSTMV2": _block_lstm,
    "CudnnRNN": _cudnn,
    "CudnnRNNV2": _cudnn,
    "CudnnRNNV3": _cudnn,
}


_OP_RULES: dict[str, Callable[[Shapes, int], int]] = {
    "MatMul": _matmul,
    "BatchMatMul": _batch_matmul,
    "BatchMatMulV2": _batch_matmul,
    "BatchMatMulV3": _batch_matmul,
    "AddN": _addn,
    **_FUSED,
}


@dataclass
class Cost:
    """FLOPs of a body run once: in total, outside any loop, by op type; loops left uncounted."""

    flops: int = 0
    outside: int = 0
    by_type: Counter = field(default_factory=Counter)
    unknown: list[str] = field(default_factory=list)  # loops whose trip count is unknown

    def add(self, other: Cost, times: int = 1, in_loop: bool = False) -> None:
        self.flops += other.flops * times
        self.outside += 0 if in_loop else other.outside * times
        for op, f in other.by_type.items():
            self.by_type[op] += f * times
        self.unknown += other.unknown


class FlopCounter:
    """Costs over the body tree; remembers each loop's body cost (its FLOPs per step)."""

    def __init__(self, roles: Sequence[str], trips: dict[str, int | None], cells: Sequence[Any]):
        self.roles, self.trips, self.cells = roles, trips, cells
        self.per_step: dict[str, int | None] = {}

    def forward(self, root: Body) -> Cost:
        """The main graph's forward ops and everything its forward nodes run."""
        roles = self.roles
        members = [i for i in root.members if roles[i] == "forward"]
        cost = Cost()
        cell_flops, covered = _unrolled_cells(root.shapes, self.cells, cost.by_type)
        rest = [i for i in members if i not in covered] if covered else members
        own = cell_flops + _count(root.shapes, rest, cost.by_type, 1)
        cost.flops = cost.outside = own
        for child in root.children:
            sub = Cost()
            self._child(sub, child)  # also for gradient loops: their FLOPs per step
            if roles[child.node] == "forward":
                cost.add(sub)
        return cost

    def body(self, body: Body) -> Cost:
        cost = Cost()
        own = _count(body.shapes, body.members, cost.by_type, 1)
        cost.flops = cost.outside = own
        for child in body.children:
            self._child(cost, child)
        if body.loop is not None:
            self.per_step[body.loop] = None if cost.unknown else cost.flops
        return cost

    def _child(self, cost: Cost, child: Child) -> None:
        costs = [self.body(b) for b in child.bodies]
        if not costs:
            return
        if child.how == "call":
            for c in costs:
                cost.add(c)
        elif child.how == "branches":
            cost.add(max(costs, key=lambda c: c.flops))
        else:
            trip = self.trips.get(child.loop or "")
            if trip is None:
                cost.unknown.append(child.loop or "?")
            cost.add(costs[0], trip or 0, in_loop=True)


def count_flops(
    walk: LoopWalk,
    loops: Sequence[LoopInfo],
    cells: Sequence[Any] = (),
    roles: Sequence[str] = (),
) -> tuple[FlopsSummary, dict[str, int | None]]:
    """The flops part of the report, and each loop's FLOPs per step (its body run once)."""
    counter = FlopCounter(roles, {lp.name: lp.trip_count for lp in loops}, cells)
    cost = counter.forward(walk.root)
    unknown = tuple(dict.fromkeys(cost.unknown))
    has_loop = any(lp.role == "forward" for lp in loops)
    if unknown:
        total = None
        note = (
            f"unknown trip count of {', '.join(unknown)}: pass steps "
            "(rnnviz report --steps T, or --steps LOOP=T)"
        )
    else:
        total = cost.flops
        fused = _fused_ops(walk, roles)
        if has_loop:
            note = "per example; each loop body counted once per trip of its loop"
        elif fused:  # BlockLSTM, CudnnRNN: one op computes every step, nothing is unrolled
            ops = (
                f"{', '.join(fused)} op runs" if len(fused) == 1 else f"{', '.join(fused)} ops run"
            )
            note = f"per example; no loop: the fused {ops} every step"
        else:
            note = "per example; no loop: every step is unrolled in the graph"
    summary = FlopsSummary(
        forward_per_sequence=total,
        outside_loops=cost.outside,
        in_loops=None if unknown else cost.flops - cost.outside,
        by_type=dict(sorted(cost.by_type.items(), key=lambda kv: -kv[1])),
        note=note,
        unknown_loops=unknown,
    )
    return summary, counter.per_step


def _fused_ops(walk: LoopWalk, roles: Sequence[str]) -> list[str]:
    """Types of the forward fused recurrent ops (one op runs every step) the walk reaches."""
    from rnnviz.cellkinds import FUSED_OPS

    found: set[str] = set()
    todo = [walk.root]
    while todo:
        body = todo.pop()
        gi = body.gi
        if gi.op_types & FUSED_OPS:
            found.update(
                gi.ops[i]
                for i in body.members
                if gi.ops[i] in FUSED_OPS and (gi.function is not None or roles[i] == "forward")
            )
        todo += [b for child in body.children for b in child.bodies]
    return sorted(found)


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
