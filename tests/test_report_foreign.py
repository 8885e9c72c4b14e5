"""Graphs built with plain TensorFlow, not with rnnviz's builders: the report must still be right."""

from __future__ import annotations

import pytest

from rnnviz.reporting import report
from rnnviz.reporting.text import render
from rnnviz.tfcompat import control_flow, tf, v1


def _embedding_classifier(use_resource: bool) -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        ids = v1.placeholder(tf.int32, [None, 5], name="ids")
        with v1.variable_scope("encoder", use_resource=use_resource):
            table = v1.get_variable("embedding_table", [50, 8])
            pooled = tf.reduce_mean(tf.nn.embedding_lookup(table, ids), 1)
        with v1.variable_scope("classifier/dense", use_resource=use_resource):
            w = v1.get_variable("w", [8, 3])
            b = v1.get_variable("b", [3], initializer=v1.zeros_initializer())
            tf.nn.bias_add(tf.matmul(pooled, w), b, name="logits")
    return graph


@pytest.mark.parametrize("use_resource", [True, False])
def test_no_rnn_graph_gets_ops_and_params(use_resource):
    graph = _embedding_classifier(use_resource)
    for source in (graph, graph.as_graph_def()):  # collection known / inferred from the graph
        r = report(source)
        assert r.recurrent is False and r.unrolled_steps == 0 and r.loops == ()
        assert r.params.total == 50 * 8 + 8 * 3 + 3
        roles = {v.name: v.role for v in r.params.variables}
        assert roles["encoder/embedding_table"] == "embedding"
        assert r.params.recurrent == 0 and r.states.per_step == 0
        assert r.ops.by_scope["encoder"] > 0 and r.ops.by_scope["classifier"] > 0
        assert r.flops.forward_per_sequence == 2 * 8 * 3 + 3 + 5 * 8  # matmul, bias, mean
        text = render(r)
        assert "no recurrent structure was found" in text


def _hand_loop(version: str) -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default(), control_flow(version):
        x = v1.placeholder(tf.float32, [None, 6, 4], name="x")
        with v1.variable_scope("my_rnn"):
            w = v1.get_variable("w", [9, 5])
        xs = tf.transpose(x, [1, 0, 2])
        h0 = tf.zeros(tf.stack([tf.shape(x)[0], 5]))

        def body(t, h):
            step = tf.gather(xs, t)
            return [t + 1, tf.tanh(tf.matmul(tf.concat([step, h], 1), w))]

        v1.while_loop(
            lambda t, h: t < 6, body, [tf.constant(0), h0], maximum_iterations=6, name="loop"
        )
    return graph


@pytest.mark.parametrize("version,kind", [("v1", "v1_frame"), ("v2", "v2_while")])
def test_hand_written_while_loop(version, kind):
    graph = _hand_loop(version)
    r = report(graph.as_graph_def(), steps=6)
    forward = [lp for lp in r.loops if lp.role == "forward"]
    assert [lp.kind for lp in forward] == [kind]
    loop = forward[0]
    assert loop.body_op_types.get("MatMul") == 1 and loop.body_op_types.get("Tanh") == 1
    assert loop.trip_count == 6 and loop.parallel_iterations == 10
    assert r.recurrent is True and r.unrolled_steps == 0
    assert r.params.total == 45
    # per step: MatMul [1,9]x[9,5] = 90, tanh 5
    assert loop.flops_per_step == 95
    assert r.flops.forward_per_sequence == 6 * 95
    if version == "v2":  # maximum_iterations is a Const: the graph itself fixes the trip count
        assert report(graph.as_graph_def()).flops.forward_per_sequence == 570


@pytest.mark.slow
def test_tf_keras_lstm_saved_model(tmp_path):
    import tf_keras

    model = tf_keras.Sequential(
        [
            tf_keras.layers.Embedding(30, 4, input_length=5),
            tf_keras.layers.LSTM(6),
            tf_keras.layers.Dense(3),
        ]
    )
    model.build((None, 5))
    model.save(tmp_path / "keras_sm", save_format="tf")
    r = report(tmp_path / "keras_sm")
    assert r.source_kind == "saved_model" and r.params.source == "saved_objects"
    assert r.params.total == model.count_params()
    kernel = next(v for v in r.params.variables if v.name.endswith("lstm_cell/kernel"))
    assert kernel.shape == (4, 24) and [g.gate for g in kernel.gates] == ["i", "f", "c", "o"]
    assert kernel.layer == 0 and r.params.recurrent == 4 * 24 + 6 * 24 + 24
    loops = [lp for lp in r.loops if lp.kind == "v2_while"]
    assert loops and all(lp.in_function for lp in loops) and all(lp.body_ops > 0 for lp in loops)
    assert r.recurrent is True
    assert r.ops.function_ops > r.ops.total  # the model lives in the function library
    assert r.sizes.saved_model_bytes > 0
