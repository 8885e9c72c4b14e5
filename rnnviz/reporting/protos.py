"""The one place the report takes its protobuf message types from: TensorFlow's own, without TF.

Reading a graph file needs only the message definitions (GraphDef, MetaGraphDef, Event, ...), not
TensorFlow's runtime: importing TF costs seconds of CPU and hundreds of MB. The `tensorboard`
package ships the same definitions, compiled on their own (`tensorboard.compat.proto`, package
`tensorboard`, wire-compatible with TF's), so every parse in `rnnviz.reporting` uses them.

Two messages are defined here because that package lacks them:
* `SavedModel` (saved_model.pb): `{int64 saved_model_schema_version = 1;
  repeated MetaGraphDef meta_graphs = 2;}`;
* `SlimGraphDef`: a GraphDef look-alike whose nodes parse only name, op and inputs and keep every
  other field (the attributes) as unknown bytes; see `GraphIndex.of_slim` for why.

Not here: anything that reads or walks a graph (see `sources` and `graph`). A live `tf.Graph` gives
TensorFlow's own GraphDef class; the analyses only read fields, so both kinds work the same.
"""

from __future__ import annotations

import importlib
from typing import Any

from google.protobuf import descriptor_pool, message_factory

_PACKAGE = "rnnviz_protos"
_LABEL_OPTIONAL, _LABEL_REPEATED = 1, 3
_TYPE_INT64, _TYPE_STRING, _TYPE_MESSAGE = 3, 9, 11
# TensorFlow's message modules, imported on first use (`protos.graph_pb2`): reading a GraphDef
# needs a few of them, and the rest (events, SavedModel object graphs) cost megabytes.
_MODULES = frozenset(
    {
        "attr_value_pb2",
        "event_pb2",
        "function_pb2",
        "graph_pb2",
        "meta_graph_pb2",
        "node_def_pb2",
        "saved_object_graph_pb2",
        "tensor_pb2",
        "types_pb2",
        "variable_pb2",
        "versions_pb2",
    }
)


def __getattr__(name: str) -> Any:
    """A message module or one of the two local types, made on first use and then kept."""
    if name in _MODULES:
        got = importlib.import_module(f"tensorboard.compat.proto.{name}")
    elif name == "SlimGraphDef":
        got = _define("slim_graph", _slim_graph)
    elif name == "SavedModel":
        got = _define("saved_model", _saved_model)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = got
    return got


def _define(file: str, build: Any) -> Any:
    """The message class `build` describes, in a file of its own in the default pool (added
    once). The file descriptor is written in protobuf's wire format here: the generated module
    for descriptor.proto (`descriptor_pb2`) would cost ~3 MB and 20 ms to import."""
    pool = descriptor_pool.Default()
    name, deps, messages = build()
    path = f"rnnviz/reporting/{file}.proto"
    try:
        pool.FindFileByName(path)
    except KeyError:
        pool.AddSerializedFile(
            _wire(1, path)  # FileDescriptorProto: name = 1, package = 2, dependency = 3,
            + _wire(2, _PACKAGE)  # message_type = 4, syntax = 12
            + b"".join(_wire(3, d) for d in deps)
            + b"".join(_wire(4, m) for m in messages)
            + _wire(12, "proto3")
        )
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


def _message(name: str, *fields: tuple) -> bytes:
    """A DescriptorProto (name = 1, field = 2) of fields (name, number, label, type[, type])."""
    return _wire(1, name) + b"".join(_wire(2, _field(*f)) for f in fields)


def _field(name: str, number: int, label: int, kind: int, type_name: str = "") -> bytes:
    """A FieldDescriptorProto: name = 1, number = 3, label = 4, type = 5, type_name = 6."""
    out = _wire(1, name) + _wire(3, number) + _wire(4, label) + _wire(5, kind)
    return out + (_wire(6, type_name) if type_name else b"")


def _wire(number: int, value: int | str | bytes) -> bytes:
    """One field in the wire format: a varint (an int) or length-delimited (str or bytes)."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _saved_model() -> tuple[str, list[str], list[bytes]]:
    """`{int64 saved_model_schema_version = 1; repeated MetaGraphDef meta_graphs = 2;}`."""
    meta_graph_pb2 = __getattr__("meta_graph_pb2")
    tb = "." + meta_graph_pb2.DESCRIPTOR.package  # ".tensorboard"
    saved = _message(
        "SavedModel",
        ("saved_model_schema_version", 1, _LABEL_OPTIONAL, _TYPE_INT64),
        ("meta_graphs", 2, _LABEL_REPEATED, _TYPE_MESSAGE, f"{tb}.MetaGraphDef"),
    )
    return "SavedModel", [meta_graph_pb2.DESCRIPTOR.name], [saved]


def _slim_graph() -> tuple[str, list[str], list[bytes]]:
    """A GraphDef whose nodes parse name, op and inputs only (see the module docstring)."""
    function_pb2, versions_pb2 = __getattr__("function_pb2"), __getattr__("versions_pb2")
    tb = "." + function_pb2.DESCRIPTOR.package
    node = _message(
        "SlimNodeDef",
        ("name", 1, _LABEL_OPTIONAL, _TYPE_STRING),
        ("op", 2, _LABEL_OPTIONAL, _TYPE_STRING),
        ("input", 3, _LABEL_REPEATED, _TYPE_STRING),
    )
    graph = _message(
        "SlimGraphDef",
        ("node", 1, _LABEL_REPEATED, _TYPE_MESSAGE, f".{_PACKAGE}.SlimNodeDef"),
        ("library", 2, _LABEL_OPTIONAL, _TYPE_MESSAGE, f"{tb}.FunctionDefLibrary"),
        ("versions", 4, _LABEL_OPTIONAL, _TYPE_MESSAGE, f"{tb}.VersionDef"),
    )
    deps = [function_pb2.DESCRIPTOR.name, versions_pb2.DESCRIPTOR.name]
    return "SlimGraphDef", deps, [node, graph]


SavedModel: Any
SlimGraphDef: Any

__all__ = ["SavedModel", "SlimGraphDef", *sorted(_MODULES)]
