"""Every weight tensor a model computes with, wherever it lives: the one walk from a reader back
to the tensor it reads.

A *reader* is a forward op that consumes a weight on a known port: MatMul (port 1, or port 0 when
that operand is a variable), BiasAdd (port 1), an embedding lookup (Gather/GatherV2/
ResourceGather, port 0), a convolution (port 1), and the weight ports of the recurrent cell ops
the registry lists (`rnnviz.cellkinds.OP_WEIGHT_PORTS`: LSTMBlockCell, GRUBlockCell, BlockLSTM,
CudnnRNN ...). From that port the walk goes back through ops that hand a tensor on unchanged
(Identity, ReadVariableOp, Enter, Switch, Cast, slices of a weight) and through function
arguments (a v2 loop body, an `If` branch, a `PartitionedCall`: argument k is input k of the call
site, or k+1 for `If`/`Case`) to where the tensor is made:

* a variable node (VariableV2 / VarHandleOp): origin "variable";
* a float `Const`: origin "frozen constant" (what `convert_variables_to_constants` leaves);
* a resource placeholder of a `tf.function` graph: origin "captured input". A graph_def traced
  from a tf.function gives those no shape; theirs is inferred from how the dataflow reads them
  (`captured_shapes`, `shapes.weight_shape_from_use`), only for such graphs.

Element-wise Mul and Add read a weight in two cases only: a bias added to a MatMul or convolution
(x @ W + b), and a reused vector (an LSTM peephole: read by several calls, or carried into a loop
body); so per-call constants (forget_bias, clip values) never count.

Which variables are trainable comes from the source when it says so (a TF2 SavedModel's object
graph, the `trainable_variables` collection), else from what the optimizer writes (dense Apply
ops and sparse updates: scatter ops and AssignSub of an embedding), else every forward float
variable. Variables only sparse ops update get origin "sparse update". Not here: which cell a
weight belongs to (`timesteps.py` fills layer, direction, role and gates from the cell calls).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnnviz.cellkinds import OP_WEIGHT_PORTS
from rnnviz.reporting.graph import (
    VARIABLE_OPS,
    GraphIndex,
    GraphSet,
    dtype_name,
    output_port,
    shape_of_proto,
    split_function_input,
    split_input,
)
from rnnviz.reporting.model import GateSlice
from rnnviz.reporting.roles import role_of
from rnnviz.reporting.shapes import Hint, Shapes, weight_shape_from_use

# Ops that hand a weight on unchanged (or a slice of it: Keras splits its kernels and biases).
PASS_THROUGH = frozenset(
    {
        "Identity",
        "Snapshot",
        "ReadVariableOp",
        "Enter",
        "RefEnter",
        "Switch",
        "RefSwitch",
        "Merge",  # a lowered loop's invariant loop variable: Merge(Enter(w), NextIteration(w))
        "Cast",
        "StopGradient",
        "Split",
        "SplitV",
        "Unpack",
        "StridedSlice",
        "Slice",
    }
)
# op type -> the input ports that carry a weight (cell ops come from the registry).
READER_PORTS: dict[str, tuple[int, ...]] = {
    "MatMul": (1, 0),
    "BatchMatMul": (1,),
    "BatchMatMulV2": (1,),
    "BatchMatMulV3": (1,),
    "BiasAdd": (1,),
    "Gather": (0,),
    "GatherV2": (0,),
    "ResourceGather": (0,),
    "Conv1D": (1,),
    "Conv2D": (1,),
    "DepthwiseConv2dNative": (1,),
    # tf.compat.v1 CuDNN layers build the flat params buffer from the canonical weights.
    "CudnnRNNCanonicalToParams": tuple(range(3, 3 + 2 * 32)),
    "CudnnRNNCanonicalToParamsV2": tuple(range(3, 3 + 2 * 32)),
    "Mul": (0, 1),
    "Add": (0, 1),
    "AddV2": (0, 1),
    **OP_WEIGHT_PORTS,
}
# Function-calling ops: input offset of the callee's argument 0, and the attrs naming callees.
_CALLS = {
    "While": (0, ("body", "cond")),
    "StatelessWhile": (0, ("body", "cond")),
    "If": (1, ("then_branch", "else_branch")),
    "StatelessIf": (1, ("then_branch", "else_branch")),
    "Case": (1, ("branches",)),
    "StatelessCase": (1, ("branches",)),
    "PartitionedCall": (0, ("f",)),
    "StatefulPartitionedCall": (0, ("f",)),
}
_FLOAT = ("float32", "float64", "float16", "bfloat16")

ORIGIN_WORDS = {
    "variable": "variables",
    "frozen constant": "frozen constants",
    "sparse update": "optimizer",
    "captured input": "captured inputs",
}


@dataclass(frozen=True)
class Weight:
    """One weight tensor. `layer`/`direction`/`role`/`gates` are filled once cells are known."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    count: int
    origin: str  # variable | frozen constant | sparse update | captured input
    layer: int | None = None
    direction: str | None = None
    role: str = "other"
    gates: tuple[GateSlice, ...] = ()


Site = tuple[str | None, int]  # (function name or None for the main graph, node index)


@dataclass
class Weights:
    """The weights of a graph and where they are read."""

    weights: tuple[Weight, ...]
    source: str  # in words: "variables", "frozen constants", "optimizer", joined with " + "
    node_of: dict[str, Site] = field(default_factory=dict)  # weight name -> its node
    readers: dict[str, list[tuple[Site, int]]] = field(default_factory=dict)  # -> (reader, port)
    inferred: int = 0  # captured weights whose shape came from their use, not from the file
    seeds: dict[int, tuple[int, ...]] = field(default_factory=dict)  # main node -> inferred shape
    # Captured weights whose shape neither the file nor their use fixes (a convolution with SAME
    # padding leaves its kernel's height and width open): not counted, named in a report note.
    unsized: tuple[str, ...] = ()

    def by_site(self) -> dict[Site, str]:
        return {site: name for name, site in self.node_of.items()}


class _Walker:
    """Resolves a reader's operand to the node that makes it, across function boundaries."""

    def __init__(self, graphs: GraphSet):
        self.graphs = graphs
        self._callers: dict[str, list[tuple[str | None, int, int]]] | None = None

    def graph(self, fname: str | None) -> GraphIndex | None:
        return self.graphs.main if fname is None else self.graphs.function(fname)

    def callers(self) -> dict[str, list[tuple[str | None, int, int]]]:
        """function -> (graph, node, input offset) of every call site (built on first use)."""
        if self._callers is None:
            out: dict[str, list[tuple[str | None, int, int]]] = defaultdict(list)
            funcs = set(self.graphs.function_names)
            for fname in (None, *self.graphs.function_names):
                gi = self.graph(fname)
                if gi is None or not (gi.op_types & (set(_CALLS) | funcs)):
                    continue
                for i, op in enumerate(gi.ops):
                    if op in _CALLS:
                        offset, keys = _CALLS[op]
                        node = gi.node(i)
                        for key in keys:
                            if key not in node.attr:
                                continue
                            attr = node.attr[key]
                            names = [f.name for f in attr.list.func] or [attr.func.name]
                            for callee in names:
                                out[callee].append((fname, i, offset))
                    elif op in funcs:  # a function called by its name as op type
                        out[op].append((fname, i, 0))
            self._callers = out
        return self._callers

    def reachable(self, fname: str, roles: Sequence[str], depth: int = 0) -> bool:
        """True when a forward op of the main graph runs `fname`, directly or through calls."""
        for caller, node, _ in self.callers().get(fname, ()):
            if caller is None and roles[node] == "forward":
                return True
            if caller is not None and depth < 8 and self.reachable(caller, roles, depth + 1):
                return True
        return False

    def sources(
        self, fname: str | None, i: int, port: int, depth: int = 0, producer: int | None = None
    ) -> list[tuple[Site, bool]]:
        """(site, crossed a loop or function boundary) of what feeds input `port` of node i.
        `producer`: the node that input names, when the caller has looked it up already (the
        walk then starts there without parsing node i's inputs)."""
        gi = self.graph(fname)
        out: list[tuple[Site, bool]] = []
        crossed = False
        for _ in range(16):
            if producer is not None:
                target, producer = (producer, None), None
            elif fname is None:  # the main graph: parsed, cached inputs
                ins = gi.data_inputs(i)
                target = (ins[port][0], None) if port < len(ins) else None
            else:
                target = _input_target(gi, i, port)
            if target is None:
                return out
            j, arg = target
            if arg is not None:  # a function argument: continue at every call site
                if depth > 8:
                    return out
                for caller, node, offset in self.callers().get(fname or "", ()):
                    out += [
                        (s, True) for s, _ in self.sources(caller, node, offset + arg, depth + 1)
                    ]
                return out
            op = gi.ops[j]
            if op not in PASS_THROUGH:
                out.append(((fname, j), crossed))
                return out
            crossed = crossed or op in ("Enter", "RefEnter", "Merge")
            i, port = j, 1 if op == "Split" else 0  # Split(axis, value)
        return out


def _input_target(gi: GraphIndex, i: int, port: int) -> tuple[int, int | None] | None:
    """(producer node, None) or (-1, argument index) of data input `port` of node i."""
    raw = gi.raw_inputs[i]
    if port >= len(raw) or raw[port].startswith("^"):
        return None
    text = raw[port]
    name = text.split(":")[0] if gi.function is not None else split_input(text)[0]
    j = gi.index.get(name)
    if j is not None:
        return j, None
    if name in gi.arg_names:
        return -1, gi.arg_names.index(name)
    return None


def _const_meta(gi: GraphIndex, j: int) -> tuple[tuple[int, ...], str] | None:
    dtype = gi.attr(j, "dtype")
    value = gi.attr(j, "value")
    if dtype is None or value is None:
        return None
    dims = tuple(max(int(d.size), 0) for d in value.tensor.tensor_shape.dim)
    return dims, dtype_name(dtype.type)


def _var_meta(gi: GraphIndex, i: int) -> tuple[tuple[int, ...], str]:
    dtype = gi.attr(i, "dtype")
    shape = gi.attr(i, "shape")
    dims = shape_of_proto(shape.shape) if shape is not None else None
    dims = tuple(max(d or 0, 0) for d in dims) if dims is not None else ()
    name = dtype_name(dtype.type) if dtype is not None else "float32"
    return dims, name.removesuffix("_ref")


def _placeholder_meta(gi: GraphIndex, j: int) -> tuple[tuple[int, ...], str] | None:
    """A captured variable of a tf.function graph: a resource Placeholder with handle data."""
    dtype = gi.attr(j, "dtype")
    if dtype is None or dtype_name(dtype.type) != "resource":
        return None
    data = gi.attr(j, "_handle_data")
    if data is None:
        return None
    shapes = list(getattr(data.list, "shape", ()))
    types = list(getattr(data.list, "type", ()))
    if not shapes or not types:
        return None
    dims = shape_of_proto(shapes[0]) or ()
    return tuple(max(d or 0, 0) for d in dims), dtype_name(types[0])


def _all_zero(gi: GraphIndex, j: int) -> bool:
    tensor = gi.attr(j, "value").tensor
    if tensor.tensor_content:
        return not any(tensor.tensor_content)
    return not any(tensor.float_val) and not any(tensor.double_val) and not any(tensor.half_val)


def _site_name(walker: _Walker, site: Site) -> str:
    fname, j = site
    name = walker.graph(fname).names[j]
    return name if fname is None else f"{fname}/{name}"


def _count(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def variable_nodes(gi: GraphIndex) -> list[int]:
    return [i for i, op in enumerate(gi.ops) if op in VARIABLE_OPS]


def _is_model_variable(gi: GraphIndex, j: int) -> bool:
    """A forward float variable: not an optimizer slot, step counter or beta power."""
    return role_of(gi.names[j], gi.ops[j]) == "forward" and _var_meta(gi, j)[1] in _FLOAT


def _forward_assigned(walker: _Walker, roles: Sequence[str]) -> set[int]:
    """Variables the forward pass itself assigns (saved RNN state, moving averages): not weights."""
    main = walker.graphs.main
    kinds = {t for t in main.op_types if t.startswith("Assign")}
    out: set[int] = set()
    if not kinds:
        return out
    for i, op in enumerate(main.ops):
        if op in kinds and roles[i] == "forward":
            out.update(j for (f, j), _ in walker.sources(None, i, 0) if f is None)
    return out


def _written_by_optimizer(walker: _Walker, roles: Sequence[str]) -> tuple[set[int], set[int]]:
    """(variables dense Apply ops update, variables only other optimizer writes update).

    Optimizer writes: Apply ops, scatter updates (a sparse gradient: in any role but
    initialization, since a model's own scope may hide the optimizer's), and AssignSub/AssignAdd
    in the optimizer's scope (Adam's sparse path); not plain Assigns (initial values)."""
    main = walker.graphs.main
    dense: set[int] = set()
    other: set[int] = set()
    assigns = {"AssignSub", "AssignAdd", "AssignSubVariableOp", "AssignAddVariableOp"}
    writes = {
        t for t in main.op_types if "Apply" in t or t.startswith(("Scatter", "ResourceScatter"))
    }
    if not (writes or main.op_types & assigns):
        return dense, other
    for i, op in enumerate(main.ops):
        if op in writes:
            if roles[i] in ("initialization", "save_restore"):
                continue
        elif not (roles[i] == "optimizer" and op in assigns):
            continue
        for (fname, j), _ in walker.sources(None, i, 0):
            if fname is None and main.ops[j] in VARIABLE_OPS and _is_model_variable(main, j):
                (dense if "Apply" in op and "Sparse" not in op else other).add(j)
    return dense, other - dense


_Entry = tuple[str, tuple[int, ...], str, str]  # a chosen weight: name, shape, dtype, origin


def find_weights(graphs: GraphSet, roles: Sequence[str], info: Any) -> Weights:
    """Every weight of the graph (see the module docstring). `info`: the source's SourceInfo."""
    walker = _Walker(graphs)
    readers = _readers(walker, roles)
    chosen, words = _variable_weights(walker, roles, info)
    reader_map, frozen, captured, shapeless = _read_weights(walker, readers, chosen)
    inferred, seeds, unsized = (0, {}, ())
    if shapeless:
        inferred, seeds, unsized = _size_shapeless(walker, roles, info, readers, chosen, reader_map)
    if frozen:
        words.append("frozen constants")
    if captured or inferred:  # an input sized from its use is a captured input too
        words.append("captured inputs")
    weights = tuple(
        Weight(name, shape, dtype, _count(shape), origin)
        for name, shape, dtype, origin in chosen.values()
    )
    return Weights(
        weights=weights,
        source=" + ".join(words) if words else "none",
        node_of={v[0]: site for site, v in chosen.items()},
        readers=dict(reader_map),
        inferred=inferred,
        seeds=seeds,
        unsized=unsized,
    )


def _variable_weights(
    walker: _Walker, roles: Sequence[str], info: Any
) -> tuple[dict[Site, _Entry], list[str]]:
    """The variables that are weights, by site (in the order the weights list them), and the
    words naming where that came from: the source's list, the optimizer, or the forward pass."""
    main = walker.graphs.main
    metas = {i: _var_meta(main, i) for i in variable_nodes(main)}
    chosen: dict[Site, _Entry] = {}  # site -> name, shape, dtype, origin
    words: list[str] = []

    saved = [r for r in info.saved_variables if r[3]] if info.saved_variables else []
    if saved:
        for name, shape, dtype, _ in saved:
            site = (None, main.index[name]) if name in main.index else (None, -1 - len(chosen))
            chosen[site] = (name, tuple(max(d or 0, 0) for d in shape), dtype, "variable")
        words.append("variables")
        return chosen, words
    wanted, extra = _wanted_variables(walker, roles, info, metas, words)
    for i in wanted:
        shape, dtype = metas.get(i, ((), "float32"))
        chosen[(None, i)] = (main.names[i], shape, dtype, "variable")
    for i in extra:
        shape, dtype = metas[i]
        chosen[(None, i)] = (main.names[i], shape, dtype, "sparse update")
    if extra and "optimizer" not in words:
        words.append("optimizer")
    return chosen, words


def _wanted_variables(
    walker: _Walker, roles: Sequence[str], info: Any, metas: Mapping[int, Any], words: list[str]
) -> tuple[list[int], list[int]]:
    """(trainable variables, variables only sparse updates write) of a graph whose source lists
    no saved variables; appends the word for where the list came from to `words`."""
    main = walker.graphs.main
    dense, sparse_only = _written_by_optimizer(walker, roles)
    if info.trainable is not None:
        wanted = [main.index[n] for n in info.trainable if n in main.index]
        extra = sorted(sparse_only - set(wanted))
        words.append("variables")
    elif dense or sparse_only:
        wanted, extra = sorted(dense), sorted(sparse_only)
        words.append("optimizer")
    else:
        state = _forward_assigned(walker, roles)
        wanted = [
            i
            for i in metas
            if role_of(main.names[i], main.ops[i]) == "forward"
            and metas[i][1] in _FLOAT
            and i not in state
        ]
        extra = []
        if wanted:
            words.append("variables")
    return wanted, extra


def _read_weights(
    walker: _Walker, readers: Mapping[tuple[Site, int], list], chosen: dict[Site, _Entry]
) -> tuple[dict[str, list[tuple[Site, int]]], bool, bool, bool]:
    """Each weight's readers by name, adding the frozen constants and sized captured inputs the
    readers reach to `chosen`: (readers, any frozen, any captured, any shapeless captured)."""
    reader_map: dict[str, list[tuple[Site, int]]] = defaultdict(list)
    frozen = captured = shapeless = False
    for (reader, port), sites in readers.items():
        for site, crossed, mul_reads in sites:
            fname, j = site
            gi = walker.graph(fname)
            op = gi.ops[j]
            entry = chosen.get(site)
            if entry is None and op == "Const":
                meta = _const_meta(gi, j)
                if meta is None or meta[1] not in _FLOAT or not meta[0]:
                    continue
                if len(meta[0]) >= 3 and _all_zero(gi, j):
                    continue  # a zero conv kernel (ConvLSTM2D state), not a weight
                if mul_reads and (len(meta[0]) != 1 or not (crossed or mul_reads > 1)):
                    continue  # a per-call constant, not a reused peephole weight
                entry = (_site_name(walker, site), meta[0], meta[1], "frozen constant")
                chosen[site] = entry
                frozen = True
            elif entry is None and op == "Placeholder":
                meta = _placeholder_meta(gi, j)
                if meta is None:
                    shapeless = True  # a captured variable without a shape: sized from its use
                    continue
                entry = (_site_name(walker, site), meta[0], meta[1], "captured input")
                chosen[site] = entry
                captured = True
            if entry is not None:
                reader_map[entry[0]].append((reader, port))
    return reader_map, frozen, captured, shapeless


def _size_shapeless(
    walker: _Walker,
    roles: Sequence[str],
    info: Any,
    readers: dict,
    chosen: dict[Site, _Entry],
    reader_map: dict[str, list[tuple[Site, int]]],
) -> tuple[int, dict[int, tuple[int, ...]], tuple[str, ...]]:
    """Size the shapeless captured inputs from their use, adding those sized to `chosen` and
    `reader_map`: (how many were sized, main-graph seeds by node, names of those not sized)."""
    inferred, seeds = 0, {}
    unknown = _shapeless(walker, readers)
    sized = captured_shapes(walker.graphs, roles, info.signatures) if unknown else {}
    unsized = tuple(sorted(_site_name(walker, site) for site in unknown if site not in sized))
    if unknown:
        for site, shape in sized.items():
            name = _site_name(walker, site)
            chosen[site] = (name, shape, "float32", "captured input")
            reader_map[name] += unknown[site]
            inferred += 1
            if site[0] is None:
                seeds[site[1]] = shape
    return inferred, seeds, unsized


def captured_shapes(
    graphs: GraphSet, roles: Sequence[str] | None = None, signatures: Sequence = ()
) -> dict[Site, tuple[int, ...]]:
    """Inferred shapes of the shapeless captured weights (resource placeholders of a tf.function
    graph), computed once per GraphSet; {} before the weight readers are known (no `roles`)."""
    cached = getattr(graphs, "_captured_shapes", None)
    if cached is not None:
        return cached
    known = getattr(graphs, "_weight_readers", None)
    if roles is None and known is None:
        return {}
    roles = roles if roles is not None else known[0]  # type: ignore[index]
    walker = _Walker(graphs)
    unknown = _shapeless(walker, _readers(walker, roles))
    out = infer_captured_shapes(walker, roles, signatures, unknown) if unknown else {}
    graphs._captured_shapes = out  # type: ignore[attr-defined]
    return out


def _shapeless(walker: _Walker, readers: dict) -> dict[Site, list[tuple[Site, int]]]:
    """Resource placeholders read as weights whose file gives no shape -> their readers."""
    out: dict[Site, list[tuple[Site, int]]] = defaultdict(list)
    for key, sites in readers.items():
        for site, _, _ in sites:
            gi = walker.graph(site[0])
            j = site[1]
            if gi.ops[j] == "Placeholder" and _is_resource(gi, j) and not _placeholder_meta(gi, j):
                out[site].append(key)
    return out


def infer_captured_shapes(
    walker: _Walker, roles: Sequence[str], signatures: Sequence, unknown: dict
) -> dict[Site, tuple[int, ...]]:
    """Shapes of the captured weights whose file gives none, from how their readers use them
    (`shapes.weight_shape_from_use`), merged over every reader; only fully known shapes count.
    A second round lets one weight's known dims fix another's (h @ U fixes h's width)."""
    from rnnviz.reporting.loops import walk_loops

    main = walker.graphs.main
    shapes_of = _body_shapes(walk_loops(walker.graphs, roles, Shapes(main), signatures))
    site_of = {(r, port): site for site, readers in unknown.items() for r, port in readers}
    partial: dict[Site, tuple[int | None, ...]] = {}

    def weight(s: Shapes, c: int, k: int) -> tuple[int | None, ...] | None:
        site = site_of.get(((s.gi.function, c), k))
        return partial.get(site) if site is not None else None

    hint = Hint(weight, lambda s, j, port: _loop_var_shape(walker, s, j, port))

    for _ in range(3):
        before = dict(partial)
        for site, readers in unknown.items():
            for (fname, i), port in readers:
                got = _use_shape(walker, shapes_of, fname, i, port, site, hint)
                partial[site] = _merge(partial.get(site), got)
        if partial == before:
            break
    return {
        site: shape  # type: ignore[misc]
        for site, shape in partial.items()
        if shape and all(d is not None and d > 0 for d in shape)
    }


def _use_shape(
    walker: _Walker, shapes_of: dict, fname: str | None, i: int, port: int, site: Site, hint: Any
) -> tuple[int | None, ...] | None:
    s = shapes_of.get(fname)
    chain = _chain(walker, fname, i, port, site)
    if s is None or chain is None or any(f not in shapes_of for f, _ in chain):
        return None
    return weight_shape_from_use(s, i, port, [(shapes_of[f], j) for f, j in chain], hint)


def _loop_var_shape(walker: _Walker, s: Shapes, j: int, port: int) -> tuple | None:
    """In a while body, output k is argument k at the next step: the shape of the argument that
    output `port` of node j is returned as (None when j is no loop variable)."""
    gi, fname = s.gi, s.gi.function
    func = walker.graphs.function_def(fname) if fname is not None else None
    if func is None or not any(
        walker.graph(c).ops[n] in _WHILE for c, n, _ in walker.callers().get(fname, ())
    ):
        return None
    for k, out in enumerate(func.signature.output_arg):
        node, out_arg, idx, _ = split_function_input(func.ret.get(out.name, ""))
        if gi.index.get(node) == j and output_port(gi.ops[j], out_arg, idx) == port:
            return s.arg_shapes.get(gi.arg_names[k]) if k < len(gi.arg_names) else None
    return None


_WHILE = frozenset({"While", "StatelessWhile"})


def _merge(a: tuple | None, b: tuple | None) -> tuple | None:
    """Two partial shapes of one weight: known dims of either (None: no shape yet)."""
    if a is None or b is None or len(a) != len(b):
        return a if a is not None else b
    return tuple(x if x is not None else y for x, y in zip(a, b, strict=True))


def _body_shapes(walk: Any) -> dict[str | None, Shapes]:
    """Graph (None: main) -> the Shapes of its first body in the walk (with its argument shapes)."""
    out: dict[str | None, Shapes] = {}
    todo = [walk.root]
    while todo:
        body = todo.pop()
        out.setdefault(body.gi.function, body.shapes)
        todo += [b for child in body.children for b in child.bodies]
    return out


def _chain(
    walker: _Walker, fname: str | None, i: int, port: int, target: Site, depth: int = 0
) -> list[Site] | None:
    """The pass-through ops from input `port` of node i back to the weight at `target`
    (reader side first), across function arguments; None when it does not lead there."""
    gi = walker.graph(fname)
    out: list[Site] = []
    for _ in range(16):
        got = _input_target(gi, i, port)
        if got is None:
            return None
        j, arg = got
        if arg is not None:
            if depth > 8:
                return None
            for caller, node, offset in walker.callers().get(fname or "", ()):
                rest = _chain(walker, caller, node, offset + arg, target, depth + 1)
                if rest is not None:
                    return out + rest
            return None
        if (fname, j) == target:
            return out
        if gi.ops[j] not in PASS_THROUGH:
            return None
        out.append((fname, j))
        i, port = j, 1 if gi.ops[j] == "Split" else 0
    return None


def _is_resource(gi: GraphIndex, j: int) -> bool:
    dtype = gi.attr(j, "dtype")
    return dtype is not None and dtype_name(dtype.type) == "resource"


def _readers(walker: _Walker, roles: Sequence[str]) -> dict[tuple[Site, int], list]:
    """(reader site, port) -> [(weight site, crossed a boundary, Mul reads of it)] for the
    forward ops of the main graph and of every function body (functions are resolved through
    their call sites, so unreachable ones resolve to nothing). Computed once per GraphSet."""
    cached = getattr(walker.graphs, "_weight_readers", None)
    if cached is not None and cached[0] is roles:
        return cached[1]
    out = _find_readers(walker, roles)
    walker.graphs._weight_readers = (roles, out)  # type: ignore[attr-defined]
    return out


_WEIGHT_MAKERS = VARIABLE_OPS | {"Const", "Placeholder"}
_QUICK = PASS_THROUGH | _WEIGHT_MAKERS
# Element-wise readers: a weight only when reused (peepholes) or added to a product (a bias).
_ELEMENTWISE = frozenset({"Mul", "Add", "AddV2"})
_PRODUCTS = frozenset(
    {"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv1D", "Conv2D"}
)


def _find_readers(walker: _Walker, roles: Sequence[str]) -> dict[tuple[Site, int], list]:
    out: dict[tuple[Site, int], list] = {}
    mul_sites: dict[Site, set[Site]] = defaultdict(set)
    pending_mul: list[tuple[tuple[Site, int], Site, bool]] = []
    for fname in (None, *walker.graphs.function_names):
        gi = walker.graph(fname)
        if gi is None or not (gi.op_types & READER_PORTS.keys()):
            continue
        wanted = gi.op_types & READER_PORTS.keys()
        ops = gi.ops
        for i in [i for i, op in enumerate(ops) if op in wanted]:
            op = ops[i]
            if fname is None and roles[i] != "forward":
                continue
            ports = READER_PORTS[op]
            producers: tuple[int | None, ...] = (None,) * len(ports)
            if op in OP_WEIGHT_PORTS:
                ports = _cell_op_ports(gi, i, op)
                producers = (None,) * len(ports)
            elif op in _ELEMENTWISE and fname is None:  # most multiply activations: skip fast
                ports, producers = _quick_ports(gi, i)
            for port, producer in zip(ports, producers, strict=True):
                found = walker.sources(fname, i, port, producer=producer)
                if op in _FLAT_PARAMS and fname is None:
                    found = _packed_sources(gi, i, port)
                for site, crossed in found:
                    wgi = walker.graph(site[0])
                    wop = wgi.ops[site[1]]
                    if wop not in _WEIGHT_MAKERS:
                        continue  # an activation, not a weight
                    if wop == "Const" and not _float_tensor(wgi, site[1]):
                        continue
                    elementwise = op in _ELEMENTWISE
                    strict = elementwise or (op == "MatMul" and port == 0)
                    if strict and wop not in VARIABLE_OPS and not (elementwise and wop == "Const"):
                        continue
                    if elementwise and not _adds_to_product(gi, i, port):
                        mul_sites[site].add((fname, i))
                        pending_mul.append((((fname, i), port), site, crossed))
                        continue
                    out.setdefault(((fname, i), port), []).append((site, crossed, 0))
    for key, site, crossed in pending_mul:
        out.setdefault(key, []).append((site, crossed, len(mul_sites[site])))
    return out


# A cuDNN op's flat params buffer is often packed from the canonical weights (tf-keras' CuDNNLSTM
# concatenates their reshaped transposes): follow every input of these ops back to the weights.
_FLAT_PARAMS = frozenset({"CudnnRNN", "CudnnRNNV2", "CudnnRNNV3"})
_PACKING = PASS_THROUGH | {"ConcatV2", "Concat", "Reshape", "Transpose", "Pack"}


def _packed_sources(gi: GraphIndex, i: int, port: int) -> list[tuple[Site, bool]]:
    ins = gi.data_inputs(i)
    if port >= len(ins):
        return []
    todo, seen, out = [ins[port][0]], set(), []
    while todo and len(seen) < 256:
        j = todo.pop()
        if j in seen:
            continue
        seen.add(j)
        if gi.ops[j] in _WEIGHT_MAKERS:
            out.append(((None, j), False))
        elif gi.ops[j] in _PACKING:
            todo += [x for x, _ in gi.data_inputs(j)]
    return out


def _quick_ports(gi: GraphIndex, i: int) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
    """(ports, their producers) of main-graph node i's inputs made directly by a weight-like op,
    read from the raw input names: the inputs of the many element-wise ops that multiply
    activations are not parsed and cached, and the walk from a kept port starts at the producer
    found here. After a dangling input the parsed positions shift (`data_inputs` drops it), so
    from there on the producer is left to the walk (None)."""
    index, ops = gi.index, gi.ops
    ports, producers = [], []
    aligned = True
    for port, text in enumerate(gi.raw_inputs[i]):
        if text[0] == "^":
            break  # control inputs come last
        j = index.get(text)
        if j is None:
            head, _, tail = text.rpartition(":")
            j = index.get(head) if tail.isdigit() else None
        if j is not None and ops[j] in _QUICK:
            ports.append(port)
            producers.append(j if aligned else None)
        aligned = aligned and j is not None
    return tuple(ports), tuple(producers)


def _adds_to_product(gi: GraphIndex, i: int, port: int) -> bool:
    """x @ W + b: an Add whose other operand is a MatMul or convolution (a bias, like BiasAdd)."""
    if gi.ops[i] == "Mul" or gi.function is not None:
        return False
    ins = gi.data_inputs(i)
    other = [j for p, (j, _) in enumerate(ins) if p != port]
    return bool(other) and gi.ops[other[0]] in _PRODUCTS


def _float_tensor(gi: GraphIndex, j: int) -> bool:
    meta = _const_meta(gi, j)
    return meta is not None and meta[1] in _FLOAT and bool(meta[0])


def _cell_op_ports(gi: GraphIndex, i: int, op: str) -> tuple[int, ...]:
    """A cell op's weight ports; peephole ports only when the op uses peepholes."""
    from rnnviz.cellkinds import PEEPHOLE_PORTS

    ports = OP_WEIGHT_PORTS[op]
    peep = PEEPHOLE_PORTS.get(op, ())
    if peep:
        attr = gi.attr(i, "use_peephole")
        if attr is None or not attr.b:
            ports = tuple(p for p in ports if p not in peep)
    return ports


__all__ = [
    "ORIGIN_WORDS",
    "PASS_THROUGH",
    "READER_PORTS",
    "VARIABLE_OPS",
    "Weight",
    "Weights",
    "find_weights",
    "variable_nodes",
]
