"""A compact, read-only index over a GraphDef (or one library function) that the analyses share.

Why not networkx: on the 230k-node unrolled graph a DiGraph took 3.2 s to build, one pass 0.18 s;
these analyses only need names, op types and input lists, held here as flat Python lists keyed by
node position. Input strings are split lazily, node by node, because most analyses only look at a
small part of the graph. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


def split_input(text: str) -> tuple[str, int, bool]:
    """A main-graph input: `"^a"` -> ("a", -1, True); `"a:2"` -> ("a", 2, False); `"a"` -> ("a", 0, False)."""
    if text.startswith("^"):
        return text[1:], -1, True
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail), False
    return text, 0, False


def split_function_input(text: str) -> tuple[str, str | None, int, bool]:
    """A function-body input: `"node:out_arg:3"` -> ("node", "out_arg", 3, False); a function
    argument `"x"` -> ("x", None, 0, False); `"^node"` -> ("node", None, -1, True)."""
    if text.startswith("^"):
        return text[1:], None, -1, True
    parts = text.split(":")
    if len(parts) == 3 and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2]), False
    if len(parts) == 2 and parts[1].isdigit():
        return parts[0], None, int(parts[1]), False
    return parts[0], None, 0, False


def tensor_node(tensor_name: str) -> str:
    """The op name of a tensor name: `"rnn/mul_3:0"` -> `"rnn/mul_3"` (a bare op name stays)."""
    return split_input(tensor_name)[0]


# Ops with several output args (names in order, from TF's op registry): a function body names an
# output `node:arg:k`, whose flat port is the arg's position plus k. Every other op has one output
# arg (possibly a list), so its flat port is k. Only ops that occur in RNN graphs are listed.
OUTPUT_ARGS: dict[str, tuple[str, ...]] = {
    "Switch": ("output_false", "output_true"),
    "RefSwitch": ("output_false", "output_true"),
    "Merge": ("output", "value_index"),
    "RefMerge": ("output", "value_index"),
    "LSTMBlockCell": ("i", "cs", "f", "o", "ci", "co", "h"),
    "GRUBlockCell": ("r", "u", "c", "h"),
    "BlockLSTM": ("i", "cs", "f", "o", "ci", "co", "h"),
    "BlockLSTMV2": ("i", "cs", "f", "o", "ci", "co", "h"),
    "CudnnRNN": ("output", "output_h", "output_c", "reserve_space"),
    "CudnnRNNV2": ("output", "output_h", "output_c", "reserve_space", "host_reserved"),
    "CudnnRNNV3": ("output", "output_h", "output_c", "reserve_space", "host_reserved"),
    "SoftmaxCrossEntropyWithLogits": ("loss", "backprop"),
    "SparseSoftmaxCrossEntropyWithLogits": ("loss", "backprop"),
    "TopKV2": ("values", "indices"),
    "Unique": ("y", "idx"),
    "FusedBatchNorm": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
    "FusedBatchNormV3": ("y", "batch_mean", "batch_variance", "reserve_space_1",
                         "reserve_space_2", "reserve_space_3"),
    "TensorArrayV3": ("handle", "flow"),
    "TensorArrayGradV3": ("grad_handle", "flow_out"),
    "BroadcastGradientArgs": ("r0", "r1"),
    "TensorListPopBack": ("output_handle", "tensor"),
    "LSTMBlockCellGrad": ("cs_prev_grad", "dicfo", "wci_grad", "wcf_grad", "wco_grad"),
    "GRUBlockCellGrad": ("d_x", "d_h_prev", "d_c_bar", "d_r_bar_u_bar"),
    "BlockLSTMGrad": ("x_grad", "cs_prev_grad", "h_prev_grad", "w_grad", "wci_grad", "wcf_grad",
                      "wco_grad", "b_grad"),
    "BlockLSTMGradV2": ("x_grad", "cs_prev_grad", "h_prev_grad", "w_grad", "wci_grad",
                        "wcf_grad", "wco_grad", "b_grad"),
    "CudnnRNNBackprop": ("input_backprop", "input_h_backprop", "input_c_backprop",
                         "params_backprop"),
    "CudnnRNNBackpropV3": ("input_backprop", "input_h_backprop", "input_c_backprop",
                           "params_backprop"),
    "UniqueWithCounts": ("y", "idx", "count"),
    "TensorArrayConcatV3": ("value", "lengths"),
}  # fmt: skip


def output_port(op: str, out_arg: str | None, k: int) -> int:
    """Flat output index of a function-body reference `node:out_arg:k` to an op of type `op`."""
    args = OUTPUT_ARGS.get(op)
    if args is None or out_arg not in args:
        return k
    return args.index(out_arg) + k


# Ops a weight passes through between its variable (or constant) and the op that computes with it.
READ_THROUGH = frozenset({"Identity", "ReadVariableOp", "Enter", "RefEnter", "Switch", "Cast"})
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})


@dataclass
class GraphIndex:
    """Names, op types and raw input lists of one graph (the main graph or a function body)."""

    names: list[str]
    ops: list[str]
    raw_inputs: list[Sequence[str]]
    nodes: Any  # the repeated NodeDef field, for the few attribute look-ups
    index: dict[str, int] = field(default_factory=dict)
    function: str | None = None  # library function name when this indexes a function body
    arg_names: tuple[str, ...] = ()  # a function's input args (they are tensors, not nodes)
    _parsed: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    _inputs: dict[int, tuple[tuple[int | None, int, str | None], ...]] = field(default_factory=dict)
    _all_consumers: list[list[int]] | None = None
    _consumers: list[list[int]] | None = None
    _tops: list[str] | None = None
    _op_types: set[str] | None = None
    edge_counts: tuple[int, int] | None = None  # (data, control) when counted while indexing

    @classmethod
    def of_nodes(
        cls, nodes: Any, function: str | None = None, arg_names: Iterable[str] = ()
    ) -> GraphIndex:
        # One pass: each pass over a repeated protobuf field wraps every message again, so
        # three comprehensions cost about three times this loop on a 230k-node graph.
        names: list[str] = []
        ops: list[str] = []
        raw_inputs: list[Sequence[str]] = []
        add_name, add_op, add_inputs = names.append, ops.append, raw_inputs.append
        for n in nodes:
            add_name(n.name)
            add_op(n.op)
            add_inputs(n.input)
        index = dict(zip(names, range(len(names)), strict=True))  # C-level: ~4x a dictcomp
        return cls(names, ops, raw_inputs, nodes, index, function, tuple(arg_names))

    @classmethod
    def of_slim(cls, slim_nodes: Any) -> GraphIndex:
        """Index a graph parsed with `sources.SLIM_GRAPH_DEF` (name, op, inputs; attrs unparsed).

        Why: protobuf's parsed attribute maps take about 3x the file's size in memory; the slim
        message keeps them as raw bytes, and a node's full NodeDef is parsed only when one of its
        attributes is read. Inputs are read on demand too; the edge counts are taken in the one
        pass over the nodes, with op-type strings interned (a handful of distinct values).
        """
        names: list[str] = []
        ops: list[str] = []
        add_name, add_op, intern = names.append, ops.append, sys.intern
        total = control = 0
        for n in slim_nodes:
            add_name(n.name)
            add_op(intern(n.op))
            ins = n.input
            if ins:
                k = len(ins)
                total += k
                if ins[-1][:1] == "^":  # control inputs come last: most nodes have none
                    j = k - 1
                    while j >= 0 and ins[j][:1] == "^":
                        j -= 1
                    control += k - 1 - j
        index = dict(zip(names, range(len(names)), strict=True))
        gi = cls(names, ops, _LazyInputs(slim_nodes), _FullNodes(slim_nodes), index)
        gi.edge_counts = (total - control, control)
        return gi

    def __len__(self) -> int:
        return len(self.names)

    @property
    def tops(self) -> list[str]:
        """Top-level scope of every node (the name itself when it has no '/'), computed once."""
        if self._tops is None:
            self._tops = _top_scopes(self.names)
        return self._tops

    @property
    def op_types(self) -> set[str]:
        """The set of op types present: lets analyses skip whole-graph scans for absent ops."""
        if self._op_types is None:
            self._op_types = set(self.ops)
        return self._op_types

    def node(self, i: int) -> Any:
        return self.nodes[i]

    def inputs(self, i: int) -> tuple[tuple[int | None, int, str | None], ...]:
        """(producer index, output port, argument name) of node i's data inputs, parsed once.

        The producer is None for an input that names no node: in a function body, a function
        argument (its name is then given); in a main graph, a dangling input.
        """
        got = self._inputs.get(i)
        if got is not None:
            return got
        out: list[tuple[int | None, int, str | None]] = []
        index = self.index
        for text in self.raw_inputs[i]:
            if self.function is None:
                name, port, control = split_input(text)
                if not control:
                    out.append((index.get(name), port, None))
                continue
            name, arg, k, control = split_function_input(text)
            if control:
                continue
            j = index.get(name)
            if j is None:
                out.append((None, k, name))
            else:
                out.append((j, output_port(self.ops[j], arg, k), None))
        result = tuple(out)
        self._inputs[i] = result
        return result

    def data_inputs(self, i: int) -> tuple[tuple[int, int], ...]:
        """(producer index, output port) of node i's data inputs that are nodes of this graph."""
        got = self._parsed.get(i)
        if got is None:
            if self.function is None:  # the hot path (weights, cells): parse without `inputs`
                got = self.parse_data_inputs(i)
            else:
                got = tuple((j, p) for j, p, _ in self.inputs(i) if j is not None)
            self._parsed[i] = got
        return got

    def parse_data_inputs(self, i: int) -> tuple[tuple[int, int], ...]:
        """`data_inputs` of a main-graph node, parsed again and not cached (for a caller that
        asks once about many nodes): `split_input`'s rule, inlined."""
        get = self.index.get
        out = []
        for text in self.raw_inputs[i]:
            if text[:1] == "^":
                continue
            if ":" in text:
                head, _, tail = text.rpartition(":")
                name, port = (head, int(tail)) if tail.isdigit() else (text, 0)
            else:
                name, port = text, 0
            j = get(name)
            if j is not None:
                out.append((j, port))
        return tuple(out)

    def control_inputs(self, i: int) -> list[int]:
        """Producers of node i's control inputs (`^name`)."""
        split = split_function_input if self.function is not None else split_input
        out = []
        for text in self.raw_inputs[i]:
            if text.startswith("^"):
                j = self.index.get(split(text)[0])
                if j is not None:
                    out.append(j)
        return out

    def walk_back(
        self,
        j: int,
        stop: frozenset[str] | None,
        through: frozenset[str] = READ_THROUGH,
        hops: int = 8,
    ) -> int | None:
        """From node j, follow first inputs through `through` ops (reads, Identities, Enters) to
        the first node whose op is in `stop` (`stop=None`: the first op not in `through`); None
        when another op or the hop limit comes first. The one walk from a weight's use back to
        its variable or constant, and from a value inside a loop to where it entered."""
        for _ in range(hops):
            op = self.ops[j]
            if (op in stop) if stop is not None else (op not in through):
                return j
            if op not in through:
                return None
            nxt = self.data_inputs(j)
            if not nxt:
                return None
            j = nxt[0][0]
        return None

    def consumers(self) -> list[list[int]]:
        """Data consumers of every node (built once, on first use: it touches every input)."""
        if self._consumers is None:
            self._consumers = self._consumer_lists(control=False)
        return self._consumers

    def all_consumers(self) -> list[list[int]]:
        """Data and control consumers of every node (built once, on first use)."""
        if self._all_consumers is None:
            self._all_consumers = self._consumer_lists(control=True)
        return self._all_consumers

    def _consumer_lists(self, control: bool) -> list[list[int]]:
        cons: list[list[int]] = [[] for _ in self.names]
        for i in range(len(self.names)):
            producers = [j for j, _ in self.data_inputs(i)]
            for j in producers + self.control_inputs(i) if control else producers:
                cons[j].append(i)
        return cons

    def attr(self, i: int, key: str) -> Any:
        """The AttrValue `key` of node i, or None."""
        attrs = self.nodes[i].attr
        return attrs[key] if key in attrs else None  # noqa: SIM401 (protobuf map)


def _top_scopes(names: list[str]) -> list[str]:
    """The top scope of every name. Nodes come scope by scope, so a name that starts with the
    previous node's top scope and a '/' has that top: only the other names are split. Interned:
    a handful of distinct scopes, not one new string per node."""
    out: list[str] = []
    add, intern = out.append, sys.intern
    top, prefix = "", None
    for name in names:
        if prefix is None or not name.startswith(prefix):
            top = intern(name.partition("/")[0])
            prefix = top + "/"
        add(top)
    return out


class _LazyInputs:
    """`raw_inputs[i]` of a slim-parsed graph: node i's input strings, read when asked."""

    def __init__(self, nodes: Any):
        self._nodes = nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: int) -> Sequence[str]:
        return self._nodes[i].input

    def __iter__(self) -> Iterator[Sequence[str]]:
        return (n.input for n in self._nodes)


class _FullNodes:
    """`nodes[i]` of a slim-parsed graph: the full NodeDef, parsed from the node's own bytes
    (the slim message kept its attributes as unknown fields, so they re-serialize unchanged).

    Only the last node asked for is kept: readers ask for a node's attributes one after the
    other (dtype, then value), and each parsed NodeDef holds ~1.7 kB outside Python's heap, so
    keeping every one (thousands of constants on an unrolled graph) would add megabytes."""

    def __init__(self, nodes: Any):
        from google.protobuf.message import DecodeError

        from rnnviz.reporting.protos import node_def_pb2

        self._nodes = nodes
        self._last: tuple[int | None, Any] = (None, None)
        # Looked up once here, not per parse (thousands of parses on an unrolled graph).
        self._parse, self._error = node_def_pb2.NodeDef.FromString, DecodeError

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: int) -> Any:
        if self._last[0] == i:
            return self._last[1]
        node = self._nodes[i]
        try:
            got = self._parse(node.SerializeToString())
        except self._error:
            raise CorruptNode(node.name) from None
        self._last = (i, got)
        return got


class CorruptNode(Exception):
    """A node of a slim-parsed graph whose attributes do not decode (read on demand); the
    analysis turns it into the one-line `InputFileError` naming the file."""

    def __init__(self, node: str):
        super().__init__(node)
        self.node = node


# ---- the rules every analysis shares ------------------------------------------------------------
def time_step(direction: str, call: int, calls: int) -> int:
    """The time step that call `call` of `calls` computes: a backward cell runs T-1 down to 0."""
    return call if direction == "fw" else calls - 1 - call


class GraphSet:
    """The main graph's index plus lazily built indexes of library functions (v2 loop bodies)."""

    def __init__(self, graph_def: Any, main: GraphIndex | None = None):
        self.graph_def = graph_def
        self.main = main if main is not None else GraphIndex.of_nodes(graph_def.node)
        self._functions = {f.signature.name: f for f in graph_def.library.function}
        self._indexes: dict[str, GraphIndex] = {}

    @property
    def function_names(self) -> list[str]:
        return list(self._functions)

    @property
    def functions_set(self) -> dict[str, Any]:
        """Library functions by name (for `op in graphs.functions_set` tests)."""
        return self._functions

    def function_def(self, name: str) -> Any:
        return self._functions.get(name)

    def function(self, name: str) -> GraphIndex | None:
        """Index of a library function's body, or None if the library has no such function."""
        if name not in self._indexes:
            func = self._functions.get(name)
            if func is None:
                return None
            args = [a.name for a in func.signature.input_arg]
            self._indexes[name] = GraphIndex.of_nodes(func.node_def, function=name, arg_names=args)
        return self._indexes[name]

    def function_arg_shapes(self, name: str) -> dict[str, tuple[int | None, ...] | None]:
        """The argument shapes a function declares (`arg_attr` `_output_shapes`), by arg name."""
        func = self._functions.get(name)
        if func is None:
            return {}
        out = {}
        for k, arg in enumerate(func.signature.input_arg):
            attrs = func.arg_attr[k].attr if k in func.arg_attr else {}
            shapes = attrs["_output_shapes"].list.shape if "_output_shapes" in attrs else []
            out[arg.name] = shape_of_proto(shapes[0]) if len(shapes) else None
        return out


def shape_of_proto(shape: Any) -> tuple[int | None, ...] | None:
    """A TensorShapeProto as a tuple (None for unknown dims), or None for unknown rank."""
    if shape is None or shape.unknown_rank:
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in shape.dim)


def dtype_name(enum_value: int) -> str:
    """DataType enum -> 'float32' etc., without importing TensorFlow."""
    got = _DTYPES.get(int(enum_value))
    return got if got is not None else f"dtype{int(enum_value)}"


# tensorflow/core/framework/types.proto (the values that appear in RNN graphs and their refs).
_DTYPES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    9: "int64", 10: "bool", 14: "bfloat16", 19: "float16", 20: "resource", 21: "variant",
    22: "uint32", 23: "uint64",
}  # fmt: skip
_DTYPES.update({k + 100: v + "_ref" for k, v in list(_DTYPES.items())})

DTYPE_BYTES = {"float32": 4, "float64": 8, "int32": 4, "int64": 8, "float16": 2, "bfloat16": 2,
               "uint8": 1, "int8": 1, "int16": 2, "bool": 1, "uint32": 4, "uint64": 8}  # fmt: skip
__all__ = [
    "DTYPE_BYTES",
    "OUTPUT_ARGS",
    "READ_THROUGH",
    "VARIABLE_OPS",
    "CorruptNode",
    "GraphIndex",
    "GraphSet",
    "dtype_name",
    "output_port",
    "shape_of_proto",
    "split_function_input",
    "split_input",
    "tensor_node",
    "time_step",
]
