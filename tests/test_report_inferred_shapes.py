"""Weights whose file gives no shape (a tf.function graph_def: every captured variable is a
shapeless resource Placeholder) are sized from how the dataflow reads them.

The truth is the model's own variables (their shapes as TensorFlow holds them); the graph_def the
report reads is `concrete.graph.as_graph_def()`, the form TensorBoard's tf.function traces have.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import rnnviz
from rnnviz.tfcompat import tf

pytestmark = pytest.mark.slow  # builds Keras models and traces them


def _write(traced: object, path: Path) -> Path:
    """A concrete function's graph (or a tf.Graph) as a .pb file."""
    graph = getattr(traced, "graph", traced)
    graph_def = graph.as_graph_def()  # type: ignore[attr-defined]
    path.write_bytes(graph_def.SerializeToString())
    return path


def _check(path: Path, variables: list) -> None:
    r = rnnviz.report(path)
    want = Counter(tuple(v.shape.as_list()) for v in variables)
    assert Counter(v.shape for v in r.params.variables) == want
    assert r.params.total == sum(v.shape.num_elements() for v in variables)
    assert {v.origin for v in r.params.variables} == {"captured input"}
    note = f"shapes of {len(variables)} captured weights inferred from their use"
    assert note in r.notes


@pytest.mark.parametrize(
    ("layer", "unroll"), [("LSTM", False), ("GRU", True), ("SimpleRNN", False)]
)
def test_keras_function_weights_sized_from_their_use(tmp_path: Path, layer: str, unroll: bool):
    model = tf.keras.Sequential(
        [tf.keras.Input((4, 3)), getattr(tf.keras.layers, layer)(7, unroll=unroll)]
    )
    spec = tf.TensorSpec([None, 4, 3], tf.float32)
    concrete = tf.function(model).get_concrete_function(spec)
    _check(_write(concrete, tmp_path / "model.pb"), model.weights)


def test_transposed_matmul_and_a_known_width_fix_the_shape(tmp_path: Path):
    w = tf.Variable(tf.ones([6, 3]))  # used as x @ w^T: 6 columns come from the Mul below
    b = tf.Variable(tf.zeros([6]))
    gate = tf.ones([1, 6])

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def f(x):
        return tf.tanh(tf.nn.bias_add(tf.matmul(x, w, transpose_b=True), b)) * gate

    _check(_write(f.get_concrete_function(), tmp_path / "f.pb"), [w, b])


def test_graphs_with_shaped_weights_get_no_note(tmp_path: Path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3])
        w = tf.compat.v1.get_variable("w", [3, 4])
        tf.matmul(x, w)
    r = rnnviz.report(_write(graph, tmp_path / "g.pb"))
    assert r.params.total == 12
    assert not any("inferred" in n for n in r.notes)
