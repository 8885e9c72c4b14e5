"""tf-keras SimpleRNN / LSTM / GRU layers in a v1 graph, a tf.function graph and a SavedModel.

`tf.keras` is tf-keras here (rnnviz.tfcompat sets TF_USE_LEGACY_KERAS before TF loads). The
frozen twin of a tf.function or SavedModel is `convert_variables_to_constants_v2` of the model's
concrete function (which lowers its While loops to v1 frames, as real frozen Keras graphs have).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpus.builders.common import (
    Built,
    count,
    freeze_function,
    freeze_session,
)
from corpus.truth import Truth
from rnnviz.tfcompat import tf, v1

_LAYERS = {"keras_simple_rnn": "SimpleRNN", "keras_lstm": "LSTM", "keras_gru": "GRU"}


def _layers(truth: Truth) -> list[Any]:
    """One Keras layer per truth layer: Bidirectional when it has a bw cell."""
    keras = tf.keras
    last = max(c.layer for c in truth.cells)
    layers = []
    for layer in range(last + 1):
        cells = [c for c in truth.cells if c.layer == layer]
        c = cells[0]
        rnn = getattr(keras.layers, _LAYERS[c.kind])(
            c.units, unroll=c.form == "unrolled", return_sequences=layer < last
        )
        layers.append(keras.layers.Bidirectional(rnn) if len(cells) == 2 else rnn)
    return layers


def build(stem: Path, truth: Truth, container: str, saver: str = "keras") -> Built:
    first = truth.cells[0]
    shape = (first.steps, first.inputs)
    if container == "v1graph":
        return _v1graph(truth, shape)
    model = tf.keras.Sequential([tf.keras.layers.Input(shape), *_layers(truth)])
    concrete = tf.function(model).get_concrete_function(tf.TensorSpec([None, *shape], tf.float32))
    trainable = count(model.trainable_weights)
    frozen = freeze_function(concrete)
    if container == "function":
        return Built(concrete.graph.as_graph_def(), frozen, trainable)
    path = stem.with_suffix(".savedmodel")
    if saver == "keras":
        model.save(path, save_format="tf")
    else:
        tf.saved_model.save(model, str(path))
    return Built(path, frozen, trainable)


def _v1graph(truth: Truth, shape: tuple[int, int]) -> Built:
    graph = tf.Graph()
    with graph.as_default():
        y = v1.placeholder(tf.float32, [None, *shape], name="x")
        for layer in _layers(truth):
            y = layer(y)
        y = tf.identity(y, name="output")
        trainable = count(v1.trainable_variables())
    return Built(graph.as_graph_def(), freeze_session(graph, [y]), trainable)
