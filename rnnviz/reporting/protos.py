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

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from tensorboard.compat.proto import (
    attr_value_pb2,
    event_pb2,
    function_pb2,
    graph_pb2,
    meta_graph_pb2,
    node_def_pb2,
    saved_object_graph_pb2,
    tensor_pb2,
    types_pb2,
    variable_pb2,
    versions_pb2,
)

_PACKAGE = "rnnviz_protos"
_LABEL_OPTIONAL, _LABEL_REPEATED = 1, 3
_TYPE_INT64, _TYPE_STRING, _TYPE_MESSAGE = 3, 9, 11


def _define() -> dict[str, Any]:
    """Build the two local message types once, in the default pool, next to their dependencies."""
    pool = descriptor_pool.Default()
    try:
        pool.FindMessageTypeByName(f"{_PACKAGE}.SavedModel")
    except KeyError:
        fd = descriptor_pb2.FileDescriptorProto(
            name="rnnviz/reporting/protos.proto", package=_PACKAGE, syntax="proto3"
        )
        fd.dependency.extend(
            [
                meta_graph_pb2.DESCRIPTOR.name,
                function_pb2.DESCRIPTOR.name,
                versions_pb2.DESCRIPTOR.name,
            ]
        )
        tb = "." + graph_pb2.DESCRIPTOR.package  # ".tensorboard"
        saved = fd.message_type.add(name="SavedModel")
        saved.field.add(
            name="saved_model_schema_version", number=1, type=_TYPE_INT64, label=_LABEL_OPTIONAL
        )
        saved.field.add(
            name="meta_graphs",
            number=2,
            type=_TYPE_MESSAGE,
            label=_LABEL_REPEATED,
            type_name=f"{tb}.MetaGraphDef",
        )
        node = fd.message_type.add(name="SlimNodeDef")
        node.field.add(name="name", number=1, type=_TYPE_STRING, label=_LABEL_OPTIONAL)
        node.field.add(name="op", number=2, type=_TYPE_STRING, label=_LABEL_OPTIONAL)
        node.field.add(name="input", number=3, type=_TYPE_STRING, label=_LABEL_REPEATED)
        graph = fd.message_type.add(name="SlimGraphDef")
        for name, number, label, type_name in (
            ("node", 1, _LABEL_REPEATED, f".{_PACKAGE}.SlimNodeDef"),
            ("library", 2, _LABEL_OPTIONAL, f"{tb}.FunctionDefLibrary"),
            ("versions", 4, _LABEL_OPTIONAL, f"{tb}.VersionDef"),
        ):
            graph.field.add(
                name=name, number=number, type=_TYPE_MESSAGE, label=label, type_name=type_name
            )
        pool.Add(fd)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in ("SavedModel", "SlimGraphDef")
    }


_LOCAL = _define()
SavedModel: Any = _LOCAL["SavedModel"]
SlimGraphDef: Any = _LOCAL["SlimGraphDef"]

__all__ = [
    "SavedModel",
    "SlimGraphDef",
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
]
