"""Static output shapes for the ops the FLOP count needs, computed from the GraphDef alone.

A small shape inference over attributes and constant inputs (no TensorFlow import, no session):
placeholders, constants, variables, element-wise ops with broadcasting, MatMul, Concat, Split,
Unpack/Pack, Reshape, Transpose, reductions, slices and the TensorList reads of loop bodies.
Unknown dims are None; anything not covered is unknown (None). Evaluation is lazy and memoized,
walking inputs with an explicit stack, so only the cones of the ops asked about are touched and
v1 loops (Merge <- NextIteration back edges) cannot recurse forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

from rnnviz.reporting.graph import GraphIndex, shape_of_proto

Shape = tuple[int | None, ...]
ShapeList = list[Shape | None]

_SAME = frozenset(
    [
        "Identity",
        "ReadVariableOp",
        "Enter",
        "RefEnter",
        "Exit",
        "NextIteration",
        "StopGradient",
        "Snapshot",
        "Relu",
        "Relu6",
        "Elu",
        "Selu",
        "Sigmoid",
        "Tanh",
        "Softsign",
        "Softplus",
        "Neg",
        "Exp",
        "Log",
        "Log1p",
        "Sqrt",
        "Rsqrt",
        "Square",
        "Abs",
        "Sign",
        "Floor",
        "Ceil",
        "Round",
        "Reciprocal",
        "Cast",
        "ZerosLike",
        "OnesLike",
        "LogicalNot",
        "ClipByValue",
        "Softmax",
        "LogSoftmax",
        "BiasAdd",
        "CheckNumerics",
        "PreventGradient",
        "ReverseV2",
        "ReverseSequence",
        "LeakyRelu",
        "Erf",
    ]
)
_BROADCAST = frozenset(
    [
        "Add",
        "AddV2",
        "Sub",
        "Mul",
        "RealDiv",
        "Div",
        "DivNoNan",
        "FloorDiv",
        "FloorMod",
        "Maximum",
        "Minimum",
        "Pow",
        "SquaredDifference",
        "Equal",
        "NotEqual",
        "Less",
        "LessEqual",
        "Greater",
        "GreaterEqual",
        "LogicalAnd",
        "LogicalOr",
        "MulNoNan",
    ]
)
_REDUCE = frozenset({"Sum", "Mean", "Max", "Min", "Prod", "All", "Any"})


def broadcast(a: Shape | None, b: Shape | None) -> Shape | None:
    """NumPy broadcasting of two shapes (None dims stay unknown)."""
    if a is None or b is None:
        return None
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b, strict=True):
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            out.append(None)
    return tuple(out)


class Shapes:
    """Lazy shape inference over one `GraphIndex` (a main graph or a function body)."""

    def __init__(
        self,
        gi: GraphIndex,
        arg_shapes: dict[str, Shape | None] | None = None,
        seeds: dict[int, Shape] | None = None,
    ):
        """`seeds`: node -> the shape of its output 0 when the graph does not say it (the
        variable behind a shapeless captured resource, as `weights.py` inferred it)."""
        self.gi = gi
        self.arg_shapes = arg_shapes or {}
        self._out: dict[int, ShapeList] = {i: [shape] for i, shape in (seeds or {}).items()}
        self._const: dict[int, list[int] | None] = {}
        self._inputs: dict[int, list[tuple[int | None, int, Shape | None]]] = {}

    # ---- inputs --------------------------------------------------------------------------
    def inputs(self, i: int) -> list[tuple[int | None, int, Shape | None]]:
        """(producer, port, arg shape) per data input; producer None for function arguments."""
        got = self._inputs.get(i)
        if got is None:
            got = self._inputs[i] = [
                (j, port, self.arg_shapes.get(arg) if j is None else None)
                for j, port, arg in self.gi.inputs(i)
            ]
        return got

    # ---- public --------------------------------------------------------------------------
    def shape(self, i: int, port: int = 0) -> Shape | None:
        outs = self._outputs(i)
        return outs[port] if port < len(outs) else None

    def input_shape(self, i: int, k: int) -> Shape | None:
        ins = self.inputs(i)
        if k >= len(ins):
            return None
        j, port, arg = ins[k]
        return arg if j is None else self.shape(j, port)

    def const_ints(self, j: int | None) -> list[int] | None:
        """Integer values of a Const node (None if not a small int Const)."""
        if j is None:
            return None
        if j in self._const:
            return self._const[j]
        value = None
        if self.gi.ops[j] == "Const":
            tensor = self.gi.node(j).attr["value"].tensor
            if tensor.dtype in (3, 9):  # int32, int64
                vals = list(tensor.int_val) or list(tensor.int64_val)
                if not vals and tensor.tensor_content:
                    import numpy as np

                    dt = np.int32 if tensor.dtype == 3 else np.int64
                    vals = np.frombuffer(tensor.tensor_content, dtype=dt).tolist()
                dims = shape_of_proto(tensor.tensor_shape) or ()
                size = 1
                for d in dims:
                    size *= d or 0
                if len(vals) == 1 and size > 1:
                    vals = vals * size  # a splat constant
                elif not vals:
                    vals = [0] * size  # no values stored: all zeros (proto3 drops a lone 0)
                value = [int(v) for v in vals]
        self._const[j] = value
        return value

    def _input_const(self, i: int, k: int) -> list[int] | None:
        ins = self.inputs(i)
        return self.const_ints(ins[k][0]) if k < len(ins) else None

    def int_values(self, i: int, k: int, depth: int = 0) -> list[int | None] | None:
        """Values of small int tensor input k of node i, None where only the shape is known.

        Enough to read zero-state shapes like Fill(Concat(ExpandDims(batch), [128])) as
        [None, 128]: the batch is unknown, the width is not.
        """
        ins = self.inputs(i)
        if k >= len(ins) or ins[k][0] is None or depth > 8:
            return None
        j, port, _ = ins[k]
        return self.int_values_of(j, port, depth)

    def int_values_of(self, j: int, port: int = 0, depth: int = 0) -> list[int | None] | None:
        """Values of output `port` of node j (a small int tensor), as far as they are static."""
        const = self.const_ints(j)
        if const is not None:
            return list(const)
        rule = _VALUE_RULES.get(self.gi.ops[j])
        got = rule(self, j, depth + 1) if rule is not None and depth <= 8 else None
        if got is not None:
            return got
        shape = self.shape(j, port)
        if shape == ():
            return [None]
        if shape is not None and len(shape) == 1 and shape[0] is not None:
            return [None] * shape[0]
        return None

    # ---- evaluation ----------------------------------------------------------------------
    def _outputs(self, i: int) -> ShapeList:
        got = self._out.get(i)
        if got is not None:
            return got
        # Depth-first with one input iterator per frame: a node is computed only after all its
        # inputs are; an input already on the current path closes a cycle and stays unknown.
        stack = [(i, self._producers(i))]
        on_path = {i}
        while stack:
            top, pending = stack[-1]
            for j in pending:
                if j in self._out or j in on_path:
                    continue
                on_path.add(j)
                stack.append((j, self._producers(j)))
                break
            else:
                stack.pop()
                on_path.discard(top)
                try:
                    self._out[top] = self._infer(top)
                except (IndexError, KeyError, ValueError, TypeError, ZeroDivisionError):
                    self._out[top] = []  # malformed attributes: unknown, never an error
        return self._out[i]

    def _producers(self, i: int) -> Iterator[int]:
        op = self.gi.ops[i]
        merge = op in ("Merge", "RefMerge")
        ins = self.inputs(i)
        if op == "Pack" and ins:
            # Stacking T step outputs: the first one's shape is the shape of all of them, and
            # not walking the other T-1 spares a walk of the whole unrolled graph.
            ins = ins[:1]
        for j, _, _ in ins:
            # A Merge only needs its loop-entry input (the other comes round the back edge).
            if j is not None and not (merge and self.gi.ops[j] == "NextIteration"):
                yield j

    def _in(self, i: int) -> list[Shape | None]:
        out = []
        for j, port, arg in self.inputs(i):
            if j is None:
                out.append(arg)
            else:
                outs = self._out.get(j, [])
                out.append(outs[port] if port < len(outs) else None)
        return out

    def _infer(self, i: int) -> ShapeList:
        got = self._by_rule(i)
        if self.gi.function is not None and all(x is None for x in got):
            # Function bodies of SavedModels record every output's shape: use what they say.
            return _list_attr_shapes(self, i, "_output_shapes") or got
        return got

    def _by_rule(self, i: int) -> ShapeList:
        op = self.gi.ops[i]
        rule = _RULES.get(op)
        if rule is not None:
            return rule(self, i)
        ins = self._in(i)
        if op in _SAME:
            return [ins[0] if ins else None]
        if op in _BROADCAST:
            return [broadcast(ins[0], ins[1]) if len(ins) >= 2 else None]
        if op in _REDUCE:
            return [_reduce(self, i, ins)]
        return []

    def attr_int(self, i: int, key: str, default: int = 0) -> int:
        a = self.gi.attr(i, key)
        return int(a.i) if a is not None else default


def _attr_shape(s: Shapes, i: int, key: str = "shape") -> ShapeList:
    a = s.gi.attr(i, key)
    return [shape_of_proto(a.shape) if a is not None else None]


def _const(s: Shapes, i: int) -> ShapeList:
    return [shape_of_proto(s.gi.node(i).attr["value"].tensor.tensor_shape)]


def _matmul(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    if len(ins) < 2 or ins[0] is None or ins[1] is None or len(ins[0]) != 2 or len(ins[1]) != 2:
        return [None]
    ta = s.gi.attr(i, "transpose_a")
    tb = s.gi.attr(i, "transpose_b")
    m = ins[0][1] if ta is not None and ta.b else ins[0][0]
    n = ins[1][0] if tb is not None and tb.b else ins[1][1]
    return [(m, n)]


def _batch_matmul(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    if len(ins) < 2 or ins[0] is None or ins[1] is None or len(ins[0]) < 2 or len(ins[1]) < 2:
        return [None]
    a, b = ins[0], ins[1]
    adj_x, adj_y = s.gi.attr(i, "adj_x"), s.gi.attr(i, "adj_y")
    m = a[-1] if adj_x is not None and adj_x.b else a[-2]
    n = b[-2] if adj_y is not None and adj_y.b else b[-1]
    batch = broadcast(a[:-2], b[:-2])
    return [(*batch, m, n)] if batch is not None else [None]


def _concat(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    axis = s._input_const(i, len(ins) - 1)
    parts = ins[:-1]
    if axis is None or not parts or any(p is None for p in parts):
        return [None]
    rank = len(parts[0])
    ax = axis[0] % rank if rank else 0
    total = 0
    for p in parts:
        if len(p) != rank:
            return [None]
        if p[ax] is None:
            total = None
            break
        total += p[ax]
    out = list(parts[0])
    out[ax] = total
    for d in range(rank):
        if d != ax and out[d] is None:
            out[d] = next((p[d] for p in parts if p[d] is not None), None)
    return [tuple(out)]


def _split(s: Shapes, i: int) -> ShapeList:
    n = s.attr_int(i, "num_split", 1)
    axis = s._input_const(i, 0)
    value = s._in(i)[1] if len(s._in(i)) > 1 else None
    if axis is None or value is None or not value:
        return [None] * n
    ax = axis[0] % len(value)
    out = list(value)
    out[ax] = value[ax] // n if value[ax] is not None else None
    return [tuple(out)] * n


def _split_v(s: Shapes, i: int) -> ShapeList:
    """SplitV(value, size_splits, axis): one output per size (a -1 takes what is left)."""
    sizes, axis = s.int_values(i, 1), s._input_const(i, 2)
    value = s._in(i)[0] if s._in(i) else None
    n = s.attr_int(i, "num_split", 1)
    if sizes is None or axis is None or value is None or not value or len(sizes) != n:
        return [None] * n
    ax = axis[0] % len(value)
    known = sum(d for d in sizes if d is not None and d >= 0)
    out = []
    for d in sizes:
        if d is None or (d < 0 and value[ax] is None):
            d = None
        elif d < 0:
            d = value[ax] - known  # type: ignore[operator]
        out.append((*value[:ax], d, *value[ax + 1 :]))
    return out


def _unpack(s: Shapes, i: int) -> ShapeList:
    n = s.attr_int(i, "num", 1)
    value = s._in(i)[0]
    if value is None:
        return [None] * n
    ax = s.attr_int(i, "axis") % len(value)
    return [value[:ax] + value[ax + 1 :]] * n


def _pack(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    if not ins or ins[0] is None:
        return [None]
    ax = s.attr_int(i, "axis")
    rank = len(ins[0]) + 1
    ax %= rank
    return [(*ins[0][:ax], len(ins), *ins[0][ax:])]


def _transpose(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    perm = s.int_values(i, 1)
    if x is None or perm is None or len(perm) != len(x) or None in perm:
        return [None]
    return [tuple(x[p] for p in perm)]


def _reshape(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    target = s.int_values(i, 1)
    if target is None:
        return [None]
    dims: list[int | None] = [d if d is not None and d >= 0 else None for d in target]
    if target.count(-1) == 1 and x is not None and all(d is not None for d in x):
        total = 1
        for d in x:
            total *= d
        known = 1
        for d in dims:
            known *= d if d is not None else 1
        dims[target.index(-1)] = total // known if known else None
    return [tuple(dims)]


def _expand(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    dim = s._input_const(i, 1)
    if x is None or dim is None:
        return [None]
    ax = dim[0] % (len(x) + 1)
    return [(*x[:ax], 1, *x[ax:])]


def _squeeze(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    if x is None:
        return [None]
    a = s.gi.attr(i, "squeeze_dims")
    dims = {d % len(x) for d in a.list.i} if a is not None and a.list.i else None
    return [
        tuple(d for k, d in enumerate(x) if not ((dims is None and d == 1) or (dims and k in dims)))
    ]


def _strided_slice(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    if x is None or s.attr_int(i, "ellipsis_mask") or s.attr_int(i, "new_axis_mask"):
        return [None]
    shrink = s.attr_int(i, "shrink_axis_mask")
    full = s.attr_int(i, "begin_mask") & s.attr_int(i, "end_mask")
    begin = s._input_const(i, 1) or []
    out = []
    for k, d in enumerate(x):
        if shrink >> k & 1:
            continue
        out.append(d if (full >> k & 1) or k >= len(begin) else None)
    return [tuple(out)]


def _shape_op(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    return [(len(x),) if x is not None else None]


def _fill(s: Shapes, i: int) -> ShapeList:
    dims = s.int_values(i, 0)
    return [
        tuple(d if d is not None and d >= 0 else None for d in dims) if dims is not None else None
    ]


def _list_item(s: Shapes, i: int) -> ShapeList:
    dims = s._input_const(i, 2)
    return [tuple(d if d >= 0 else None for d in dims) if dims is not None else None]


def _list_stack(s: Shapes, i: int) -> ShapeList:
    dims = s.int_values(i, 1)
    if dims is None:
        return [None]
    count = s.attr_int(i, "num_elements", -1)
    length = count if count >= 0 else _list_length(s, i)
    return [(length, *(d if d is not None and d >= 0 else None for d in dims))]


def _list_length(s: Shapes, i: int) -> int | None:
    """Elements of the TensorList node i stacks: the size it was reserved with, followed back
    through the loop that filled it (While output k is the list given as While input k)."""
    ins = s.inputs(i)
    j, port = (ins[0][0], ins[0][1]) if ins else (None, 0)
    for _ in range(8):
        if j is None:
            return None
        op = s.gi.ops[j]
        if op == "TensorListReserve":
            size = s.int_values(j, 1)
            return size[0] if size is not None and len(size) == 1 else None
        if op in ("While", "StatelessWhile") or op in _LIST_PASS:
            nxt = s.inputs(j)
            k = port if op in ("While", "StatelessWhile") else 0
            j, port = (nxt[k][0], nxt[k][1]) if k < len(nxt) else (None, 0)
        else:
            return None
    return None


# What a TensorList handle passes through on its way out of a loop (v2 While, or v1 frame).
_LIST_PASS = frozenset({"Identity", "Exit", "Switch", "Merge", "Enter"})


def _ta_read(s: Shapes, i: int) -> ShapeList:
    # The handle (input 0) carries the array's element shape, see "TensorArrayV3" below.
    return [s._in(i)[0]]


def _ta_gather(s: Shapes, i: int) -> ShapeList:
    got = _attr_shape(s, i, "element_shape")[0] or s._in(i)[0]
    indices = s.int_values(i, 1)  # Range(0, size): its length when the size is static
    return [(len(indices) if indices is not None else None, *got) if got is not None else None]


def _xent(s: Shapes, i: int) -> ShapeList:
    logits = s._in(i)[0]
    return [logits[:-1] if logits else None, logits]


def _argmax(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    axis = s._input_const(i, 1)
    if x is None or axis is None:
        return [None]
    ax = axis[0] % len(x)
    return [x[:ax] + x[ax + 1 :]]


def _select(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    return [broadcast(ins[1], ins[2]) if len(ins) >= 3 else None]


def _switch(s: Shapes, i: int) -> ShapeList:
    x = s._in(i)[0]
    return [x, x]


def _merge(s: Shapes, i: int) -> ShapeList:
    known = [x for x in s._in(i) if x is not None]
    return [known[0] if known else None, ()]


def _addn(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    return [ins[0] if ins else None]


def _gather(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    if len(ins) < 2 or ins[0] is None or ins[1] is None:
        return [None]
    return [ins[1] + ins[0][1:]]


def _list_attr_shapes(s: Shapes, i: int, key: str = "output_shapes") -> ShapeList:
    a = s.gi.attr(i, key)
    return [shape_of_proto(p) for p in a.list.shape] if a is not None else []


def _gather_nd(s: Shapes, i: int) -> ShapeList:
    ins = s._in(i)
    if len(ins) < 2 or ins[0] is None or ins[1] is None or ins[1][-1] is None:
        return [None]
    return [ins[1][:-1] + ins[0][ins[1][-1] :]]


def _reduce(s: Shapes, i: int, ins: list[Shape | None]) -> Shape | None:
    x = ins[0] if ins else None
    axes = s._input_const(i, 1)
    if x is None or axes is None:
        return None
    keep = s.gi.attr(i, "keep_dims")
    drop = {a % len(x) for a in axes} if x else set()
    if keep is not None and keep.b:
        return tuple(1 if k in drop else d for k, d in enumerate(x))
    return tuple(d for k, d in enumerate(x) if k not in drop)


_RULES: dict[str, Callable[[Shapes, int], ShapeList]] = {
    "Placeholder": _attr_shape,
    "PlaceholderWithDefault": _attr_shape,
    "VarHandleOp": _attr_shape,
    "VariableV2": _attr_shape,
    "Variable": _attr_shape,
    "Const": _const,
    "MatMul": _matmul,
    "BatchMatMul": _batch_matmul,
    "BatchMatMulV2": _batch_matmul,
    "BatchMatMulV3": _batch_matmul,
    "ConcatV2": _concat,
    "Split": _split,
    "SplitV": _split_v,
    "Unpack": _unpack,
    "Pack": _pack,
    "Transpose": _transpose,
    "Reshape": _reshape,
    "ExpandDims": _expand,
    "Squeeze": _squeeze,
    "StridedSlice": _strided_slice,
    "Shape": _shape_op,
    "Fill": _fill,
    "TensorListGetItem": _list_item,
    "TensorListStack": _list_stack,
    "TensorArrayReadV3": _ta_read,
    "TensorArrayV3": lambda s, i: [*_attr_shape(s, i, "element_shape"), ()],
    "TensorArrayGatherV3": _ta_gather,
    "SparseSoftmaxCrossEntropyWithLogits": _xent,
    "SoftmaxCrossEntropyWithLogits": _xent,
    "ArgMax": _argmax,
    "ArgMin": _argmax,
    "Select": _select,
    "SelectV2": _select,
    "Switch": _switch,
    "RefSwitch": _switch,
    "Merge": _merge,
    "RefMerge": _merge,
    "AddN": _addn,
    "GatherV2": _gather,
    "Gather": _gather,
    "ResourceGather": _gather,
    "GatherNd": _gather_nd,
    "Range": lambda s, i: [(None,)],
    "If": lambda s, i: _list_attr_shapes(s, i),
    "StatelessIf": lambda s, i: _list_attr_shapes(s, i),
    "While": lambda s, i: _list_attr_shapes(s, i),
    "StatelessWhile": lambda s, i: _list_attr_shapes(s, i),
}

# ---- static values of small int tensors (shapes, sizes, loop bounds) ----------------------------
Values = list[int | None] | None


def _v_first(s: Shapes, j: int, depth: int) -> Values:
    return s.int_values(j, 0, depth)


def _v_concat(s: Shapes, j: int, depth: int) -> Values:
    out: list[int | None] = []
    for part in range(len(s.inputs(j)) - 1):
        vals = s.int_values(j, part, depth)
        if vals is None:
            return None
        out.extend(vals)
    return out


def _v_pack(s: Shapes, j: int, depth: int) -> Values:
    out = []
    for part in range(len(s.inputs(j))):
        vals = s.int_values(j, part, depth)
        out.append(vals[0] if vals is not None and len(vals) == 1 else None)
    return out


def _v_shape(s: Shapes, j: int, depth: int) -> Values:
    x = s.input_shape(j, 0)
    return list(x) if x is not None else None


def _v_rank(s: Shapes, j: int, depth: int) -> Values:
    x = s.input_shape(j, 0)
    return [len(x)] if x is not None else None


def _v_range(s: Shapes, j: int, depth: int) -> Values:
    parts = [s.int_values(j, p, depth) for p in range(3)]
    if all(p is not None and len(p) == 1 and p[0] is not None for p in parts):
        return list(range(parts[0][0], parts[1][0], parts[2][0] or 1))  # type: ignore[index]
    return None


def _v_strided_slice(s: Shapes, j: int, depth: int) -> Values:
    """x[begin:end:stride] of a 1-D int tensor (what `tf.shape(x)[0]` compiles to)."""
    x = s.int_values(j, 0, depth)
    begin, end, stride = (s.int_values(j, k, depth) for k in (1, 2, 3))
    if x is None or begin is None or len(begin) != 1 or begin[0] is None:
        return None
    if s.attr_int(j, "ellipsis_mask") or s.attr_int(j, "new_axis_mask"):
        return None
    b = 0 if s.attr_int(j, "begin_mask") & 1 else begin[0]
    if s.attr_int(j, "shrink_axis_mask") & 1:
        return [x[b]] if -len(x) <= b < len(x) else None
    e = len(x) if s.attr_int(j, "end_mask") & 1 or not end or end[0] is None else end[0]
    st = stride[0] if stride and stride[0] else 1
    return x[b:e:st]


def _v_min_max(s: Shapes, j: int, depth: int) -> Values:
    a, b = s.int_values(j, 0, depth), s.int_values(j, 1, depth)
    if a is None or b is None or len(a) != 1 or len(b) != 1 or None in (a[0], b[0]):
        return None
    pick = min if s.gi.ops[j] == "Minimum" else max
    return [pick(a[0], b[0])]  # type: ignore[type-var]


_VALUE_RULES: dict[str, Callable[[Shapes, int, int], Values]] = {
    "ExpandDims": _v_first,
    "Identity": _v_first,
    "Reshape": _v_first,
    "Enter": _v_first,
    "RefEnter": _v_first,
    "Cast": _v_first,
    "ConcatV2": _v_concat,
    "Pack": _v_pack,
    "Shape": _v_shape,
    "Rank": _v_rank,
    "Range": _v_range,
    "StridedSlice": _v_strided_slice,
    "Minimum": _v_min_max,
    "Maximum": _v_min_max,
}


# ---- shapes of weights the file does not give, from how the dataflow reads them ---------------
# A tf.function graph holds each captured variable as a shapeless resource Placeholder; its shape
# is still fixed by its use: MatMul(x[?, 3], W) gives W 3 rows, and W's columns are the width of
# the product, which meets a tensor of known width a few ops later (the bias-added gates are split
# in 4 and multiplied with the cell state c[?, 5]: 20 columns). Called only for such weights.

_ELEMENTWISE = frozenset({"Add", "AddV2", "Sub", "Mul", "BiasAdd", "Maximum", "Minimum"})
_GATHERS = frozenset({"Gather", "GatherV2", "ResourceGather"})


def weight_shape_from_use(
    s: Shapes, i: int, port: int, chain: Sequence[tuple[Shapes, int]], hint: Hint | None = None
) -> Shape | None:
    """The shape of the weight read on input `port` of node i (in `s`), as far as its use fixes
    it. `chain`: the ops between the weight and the reader, reader side first (Identity,
    ReadVariableOp, Split, Unpack ...), each with the Shapes of its graph. `hint(s, c, k)`: what
    is known of another such weight read on input k of node c (a recurrent kernel's rows)."""
    shape = _read_shape(s, i, port, hint)
    for cs, j in chain:
        if shape is None:
            return None
        shape = _before(cs, j, shape)
    return shape


@dataclass(frozen=True)
class Hint:
    """What the caller knows beyond one graph's Shapes: `weight(s, c, k)`, the dims found so far
    of another shapeless weight read on input k of node c (a recurrent kernel's rows);
    `loop_var(s, j, port)`, the shape of the loop variable that output `port` of node j of a loop
    body becomes at the next step (the While's declared shape)."""

    weight: Callable[[Shapes, int, int], Shape | None]
    loop_var: Callable[[Shapes, int, int], Shape | None]


def _read_shape(s: Shapes, i: int, port: int, hint: Hint | None) -> Shape | None:
    """The shape of operand `port` of reader i, from its other operands and its output's width."""
    op = s.gi.ops[i]
    if op == "MatMul":
        ta, tb = _flag(s, i, "transpose_a"), _flag(s, i, "transpose_b")
        if port == 1:
            k = _dim(s.input_shape(i, 0), 0 if ta else 1)
            n = traced_width(s, i, hint)
            return (n, k) if tb else (k, n)
        k = _dim(_operand(s, i, 1, hint), 1 if tb else 0)
        return (k, None) if ta else (None, k)
    if op == "BiasAdd" and port == 1:
        c = _dim(s.input_shape(i, 0), -1)
        return (c if c is not None else traced_width(s, i, hint),)
    if op in _GATHERS and port == 0:
        return (None, traced_width(s, i, hint))
    return None


def _flag(s: Shapes, i: int, key: str) -> bool:
    a = s.gi.attr(i, key)
    return a is not None and a.b


def _operand(s: Shapes, c: int, k: int, hint: Hint | None) -> Shape | None:
    got = s.input_shape(c, k)
    if (got is None or len(got) != 2) and hint is not None:
        got = hint.weight(s, c, k)
    return got


def _dim(shape: Shape | None, k: int) -> int | None:
    return shape[k] if shape is not None and len(shape) == 2 else None


def _before(s: Shapes, j: int, shape: Shape) -> Shape | None:
    """The shape of the input of pass-through op j whose output (one of them) has `shape`."""
    op = s.gi.ops[j]
    if op == "Unpack":
        ax = s.attr_int(j, "axis", 0) % (len(shape) + 1)
        return (*shape[:ax], s.attr_int(j, "num", 1), *shape[ax:])
    if op in ("Split", "SplitV"):
        axis = s._input_const(j, 0 if op == "Split" else 2)
        if axis is None or not shape:
            return None
        ax = axis[0] % len(shape)
        if op == "Split":
            n = s.attr_int(j, "num_split", 1)
            total = shape[ax] * n if shape[ax] is not None else None
        else:
            sizes = s.int_values(j, 1)
            ok = sizes is not None and all(d is not None and d >= 0 for d in sizes)
            total = sum(sizes) if ok else None  # type: ignore[arg-type]
        return (*shape[:ax], total, *shape[ax + 1 :])
    if op in ("StridedSlice", "Slice"):
        return None  # a slice does not say how big the whole was
    return shape


# The last dim of a traced tensor as scale * width + offset (a SplitV part of size -1 has an offset).
Affine = tuple[Fraction, Fraction]


def traced_width(s: Shapes, i: int, hint: Hint | None = None, limit: int = 64) -> int | None:
    """The last dim of node i's output, from where it goes: a tensor derived from it (activations,
    biases, the parts of a Split) meets an operand of known width in an element-wise op, or is
    multiplied by a matrix whose rows are known."""
    consumers = s.gi.all_consumers()
    todo: list[tuple[int, int, Affine]] = [(i, 0, (Fraction(1), Fraction(0)))]
    seen = set()
    while todo and len(seen) < limit:
        j, port, lin = todo.pop(0)
        if (j, port) in seen:
            continue
        seen.add((j, port))
        carried = hint.loop_var(s, j, port) if hint is not None else None
        if carried:
            return _solve(lin, carried[-1])
        for c in consumers[j]:
            for k, (p, pp, _) in enumerate(s.inputs(c)):
                if p == j and pp == port:
                    got = _width_step(s, c, k, lin, todo, hint)
                    if got is not None:
                        return got
    return None


def _solve(lin: Affine, w: int | None) -> int | None:
    if w is None:
        return None
    width = (w - lin[1]) / lin[0]
    return int(width) if width.denominator == 1 and width > 0 else None


def _width_step(
    s: Shapes, c: int, k: int, lin: Affine, todo: list, hint: Hint | None
) -> int | None:
    """One consumer c (reading the traced tensor on input k): the width if c fixes it, else queue
    the outputs the trace goes on through."""
    op = s.gi.ops[c]
    scale, offset = lin
    if op in _ELEMENTWISE and k < 2:
        other = s.input_shape(c, 1 - k)
        w = other[-1] if other else None
        if w is not None and w > 1:
            return _solve(lin, w)
        todo.append((c, 0, lin))
    elif op in _SAME:
        todo.append((c, 0, lin))
    elif op == "MatMul" and k == 0 and not _flag(s, c, "transpose_a"):
        return _solve(lin, _dim(_operand(s, c, 1, hint), 1 if _flag(s, c, "transpose_b") else 0))
    elif op == "Split" and k == 1 and _last_axis(s._input_const(c, 0)):
        n = s.attr_int(c, "num_split", 1)
        todo += [(c, out, (scale / n, offset / n)) for out in range(n)]
    elif op == "SplitV" and k == 0 and _last_axis(s._input_const(c, 2)):
        sizes = s.int_values(c, 1) or []
        known = [d for d in sizes if d is not None and d >= 0]
        if len(known) == len(sizes):
            return _solve(lin, sum(known)) if sizes else None
        if len(known) == len(sizes) - 1:  # one part of size -1 takes the rest
            rest = next(n for n, d in enumerate(sizes) if d is None or d < 0)
            todo.append((c, rest, (scale, offset - sum(known))))
    return None


def _last_axis(axis: list[int] | None) -> bool:
    return axis is not None and axis[0] in (-1, 1)  # the corpus' and Keras' 2-D gates


__all__ = ["Hint", "Shape", "Shapes", "broadcast", "traced_width", "weight_shape_from_use"]
