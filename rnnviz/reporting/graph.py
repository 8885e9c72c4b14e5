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
    """`"^a"` -> ("a", -1, True); `"a:2"` -> ("a", 2, False); `"a"` -> ("a", 0, False).

    Function-body inputs look like `"node:out_arg:3"`; their port is resolved by `FunctionIndex`,
    here the output-arg part is kept in the name so callers can tell them apart.
    """
    if text.startswith("^"):
        return text[1:], -1, True
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail), False
    return text, 0, False


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
            k = len(ins)
            if k:
                total += k
                j = k - 1
                while j >= 0 and ins[j].startswith("^"):  # control inputs come last
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
            # Interned: a handful of distinct scopes, not one new string per node.
            intern = sys.intern
            self._tops = [intern(n.partition("/")[0]) for n in self.names]
        return self._tops

    @property
    def op_types(self) -> set[str]:
        """The set of op types present: lets analyses skip whole-graph scans for absent ops."""
        if self._op_types is None:
            self._op_types = set(self.ops)
        return self._op_types

    def node(self, i: int) -> Any:
        return self.nodes[i]

    def data_inputs(self, i: int) -> tuple[tuple[int, int], ...]:
        """(producer index, output port) of node i's data inputs; unknown producers are skipped.

        In a function body an input may name a function argument (no producer node) or use the
        `node:out_arg:k` form; the port is then k within that output arg, which is exact for the
        single-output and single-list ops that the analyses look through.
        """
        got = self._parsed.get(i)
        if got is not None:
            return got
        out = []
        index = self.index
        for text in self.raw_inputs[i]:
            if text.startswith("^"):
                continue
            if self.function is not None:
                parts = text.split(":")
                name = parts[0]
                port = int(parts[-1]) if len(parts) == 3 and parts[-1].isdigit() else 0
            else:
                name, port, _ = split_input(text)
            j = index.get(name)
            if j is not None:
                out.append((j, port))
        result = tuple(out)
        self._parsed[i] = result
        return result

    def consumers(self) -> list[list[int]]:
        """Data consumers of every node (built once, on first use: it touches every input)."""
        if self._consumers is None:
            cons: list[list[int]] = [[] for _ in self.names]
            for i in range(len(self.names)):
                for j, _ in self.data_inputs(i):
                    cons[j].append(i)
            self._consumers = cons
        return self._consumers

    def attr(self, i: int, key: str) -> Any:
        """The AttrValue `key` of node i, or None."""
        attrs = self.nodes[i].attr
        return attrs[key] if key in attrs else None  # noqa: SIM401 (protobuf map)


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
    (the slim message kept its attributes as unknown fields, so they re-serialize unchanged)."""

    def __init__(self, nodes: Any):
        self._nodes = nodes
        self._full: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: int) -> Any:
        got = self._full.get(i)
        if got is None:
            from rnnviz.tfcompat import node_def_pb2

            got = node_def_pb2.NodeDef.FromString(self._nodes[i].SerializeToString())
            self._full[i] = got
        return got


def scope_of(name: str) -> str:
    """The name scope of a node name: everything before the last '/' ('' at top level)."""
    return name.rpartition("/")[0]


def top_scope(name: str) -> str:
    return name.partition("/")[0]


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


def shape_of_proto(shape: Any) -> tuple[int | None, ...] | None:
    """A TensorShapeProto as a tuple (None for unknown dims), or None for unknown rank."""
    if shape is None or shape.unknown_rank:
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in shape.dim)


def dtype_name(enum_value: int) -> str:
    """DataType enum -> 'float32' etc., without importing TensorFlow."""
    return _DTYPES.get(int(enum_value), f"dtype{int(enum_value)}")


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
    "GraphIndex",
    "GraphSet",
    "dtype_name",
    "scope_of",
    "shape_of_proto",
    "split_input",
    "top_scope",
]
