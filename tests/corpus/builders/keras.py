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
from corpus.truth import CellSize, Truth
from rnnviz.tfcompat import tf, v1

_LAYERS = {"keras_simple_rnn": "SimpleRNN", "keras_lstm": "LSTM", "keras_gru": "GRU"}
_CUDNN = {"cudnn": "CuDNNLSTM", "cudnn_gru": "CuDNNGRU"}


def _residual_cell(units: int) -> Any:
    """A user-written cell, h' = h + tanh([x, h] W + b): it computes what no known kind does
    (the added h), so the report must find it as a cell reusing its weights step after step."""

    class ResidualRNNCell(tf.keras.layers.Layer):
        state_size = units

        def build(self, input_shape: Any) -> None:
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1] + units, units))
            self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")

        def call(self, inputs: Any, states: Any) -> Any:
            h = states[0]
            h = h + tf.tanh(tf.matmul(tf.concat([inputs, h], -1), self.kernel) + self.bias)
            return h, [h]

    return ResidualRNNCell()


def _rnn_layer(c: CellSize, return_sequences: bool) -> Any:
    """The Keras layer running one truth cell."""
    keras, unroll = tf.keras, c.form == "unrolled"
    if c.kind in _CUDNN:  # tf.compat.v1.keras' CuDNNLSTM / CuDNNGRU: GPU-only CudnnRNN ops
        return getattr(v1.keras.layers, _CUDNN[c.kind])(c.units, return_sequences=return_sequences)
    if c.kind == "generic":
        cell = _residual_cell(c.units)
        return keras.layers.RNN(cell, unroll=unroll, return_sequences=return_sequences)
    if c.kind == "conv_lstm":
        return keras.layers.ConvLSTM2D(c.units, c.kernel, return_sequences=return_sequences)
    layer = getattr(keras.layers, _LAYERS[c.kind])
    return layer(c.units, unroll=unroll, return_sequences=return_sequences)


def _layers(truth: Truth, cells_in_one_layer: bool = False) -> list[Any]:
    """One Keras layer per truth layer: Bidirectional when it has a bw cell.

    `cells_in_one_layer`: one `RNN(StackedRNNCells([...]))` layer running every truth layer's
    cell in the same loop (what MultiRNNCell does in tf.compat.v1).
    """
    keras = tf.keras
    last = max(c.layer for c in truth.cells)
    if cells_in_one_layer:
        cells = [getattr(keras.layers, _LAYERS[c.kind] + "Cell")(c.units) for c in truth.cells]
        return [keras.layers.RNN(keras.layers.StackedRNNCells(cells))]
    layers = []
    for layer in range(last + 1):
        cells = [c for c in truth.cells if c.layer == layer]
        rnn = _rnn_layer(cells[0], return_sequences=layer < last)
        layers.append(keras.layers.Bidirectional(rnn) if len(cells) == 2 else rnn)
    return layers


def build(
    stem: Path,
    truth: Truth,
    container: str,
    saver: str = "keras",
    cells_in_one_layer: bool = False,
) -> Built:
    first = truth.cells[0]
    image = (first.side, first.side) if first.kind == "conv_lstm" else ()
    shape = (first.steps, *image, first.inputs)
    if container == "v1graph":
        return _v1graph(truth, cells_in_one_layer, shape)
    model = tf.keras.Sequential([tf.keras.layers.Input(shape), *_layers(truth, cells_in_one_layer)])
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


def _v1graph(truth: Truth, cells_in_one_layer: bool, shape: tuple[int, ...]) -> Built:
    graph = tf.Graph()
    with graph.as_default():
        y = v1.placeholder(tf.float32, [None, *shape], name="x")
        for layer in _layers(truth, cells_in_one_layer):  # made in the graph: CuDNNLSTM needs it
            y = layer(y)
        y = tf.identity(y, name="output")
        trainable = count(v1.trainable_variables())
    runnable = all(c.kind not in _CUDNN for c in truth.cells)
    return Built(graph.as_graph_def(), freeze_session(graph, [y], runnable), trainable)
