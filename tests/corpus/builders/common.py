"""What every builder shares: the `Built` record, the sizes, freezing, and counting variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.tfcompat import tf, v1


@dataclass
class Built:
    """One built graph: `live` is a GraphDef or the path of a SavedModel directory."""

    live: Any
    frozen: Any  # GraphDef with every variable turned into a Const
    trainable: int  # sum of trainable variable sizes, read from TF at construction


def count(variables: Any) -> int:
    """Sum of the sizes of `variables` (TF variables or tensors with static shapes)."""
    return sum(int(np.prod(v.shape.as_list())) for v in variables)


def freeze_session(graph: tf.Graph, outputs: list[Any], runnable: bool = True) -> Any:
    """`convert_variables_to_constants` on `graph`, keeping what the outputs' ops need.

    `runnable=False`: the graph holds an op with no CPU kernel (CudnnRNN), and a Session places
    every node of its graph, so the values come from a shadow graph holding only same-named,
    same-shaped variables (the converter fetches `<variable>/Read/ReadVariableOp` by name).
    """
    names = [t.op.name for t in outputs]
    source = graph if runnable else _shadow(graph)
    with source.as_default():
        init = v1.global_variables_initializer()
    with v1.Session(graph=source) as sess:
        sess.run(init)
        return v1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), names)


def _shadow(graph: tf.Graph) -> tf.Graph:
    with graph.as_default():
        variables = [(v.op.name, v.shape) for v in v1.global_variables()]
    shadow = tf.Graph()
    with shadow.as_default():
        for name, shape in variables:
            v1.get_variable(name, shape, use_resource=True)
    return shadow


def freeze_function(concrete: Any) -> Any:
    """`convert_variables_to_constants_v2` on a tf.function's concrete function."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    return convert_variables_to_constants_v2(concrete).graph.as_graph_def()


def v1_graph_built(graph: tf.Graph, outputs: list[Any]) -> Built:
    """A v1 graph: live GraphDef, frozen twin, trainable count from the collection."""
    with graph.as_default():
        trainable = count(v1.trainable_variables())
    return Built(graph.as_graph_def(), freeze_session(graph, outputs), trainable)
