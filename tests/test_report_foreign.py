"""Graphs built with plain TensorFlow, not with rnnviz's builders: the report must still be right."""

from __future__ import annotations

import pytest

from rnnviz.builder import build
from rnnviz.reporting import report
from rnnviz.reporting.flops import tfprof_params
from rnnviz.reporting.text import render
from rnnviz.spec import load_spec, sample_names
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
    assert r.source_kind == "saved_model" and r.params.source == "variables"
    assert r.params.total == model.count_params()
    kernel = next(v for v in r.params.variables if v.name.endswith("lstm_cell/kernel"))
    assert kernel.shape == (4, 24) and [g.gate for g in kernel.gates] == ["i", "f", "j", "o"]
    assert kernel.layer == 0 and r.params.recurrent == 4 * 24 + 6 * 24 + 24
    loops = [lp for lp in r.loops if lp.kind == "v2_while"]
    assert loops and all(lp.in_function for lp in loops) and all(lp.body_ops > 0 for lp in loops)
    assert r.recurrent is True
    assert r.ops.function_ops > r.ops.total  # the model lives in the function library
    assert r.sizes.saved_model_bytes > 0


# ---- weights wherever they live, cells from the dataflow (issue 8, items 2 and 3) -------------
def _freeze(model) -> object:
    """The v1 frozen graph of a built model (forward outputs), as users download them."""
    with model.graph.as_default():
        sess = model.session()
        sess.run(model.init_op)
        return v1.graph_util.convert_variables_to_constants(
            sess, model.graph_def(), [model.logits.op.name]
        )


def _cells(r) -> list[tuple]:
    return sorted((c.layer, c.direction, c.kind, c.form, c.calls) for c in r.timesteps.cells)


@pytest.mark.parametrize("name", sample_names())
def test_frozen_twin_of_every_sample_has_the_same_params(name):
    model = build(load_spec(name).with_steps(3))
    live, frozen = report(model.graph_def(), tfprof=False), report(_freeze(model), tfprof=False)
    assert frozen.params.total == live.params.total == tfprof_params(model.graph)
    assert frozen.params.source == "frozen constants" and "frozen" not in live.params.source
    assert {v.origin for v in frozen.params.variables} == {"frozen constant"}
    assert frozen.params.recurrent == live.params.recurrent
    assert _cells(frozen) == _cells(live) and frozen.unrolled_steps == live.unrolled_steps


def test_keras_simple_rnn_unrolled_with_one_scope_per_step():
    import tf_keras

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 40, 3], name="x")
        layer = tf_keras.layers.SimpleRNN(5, unroll=True)
        layer(x)
    assert "simple_rnn/simple_rnn_cell_40/MatMul" in {n.name for n in graph.as_graph_def().node}
    r = report(graph.as_graph_def())
    assert r.unrolled_steps == 40 and r.timesteps.forms == ("unrolled",)
    assert [(c.kind, c.calls) for c in r.timesteps.cells] == [("keras_simple_rnn", 40)]
    assert r.states.by_kind == {"h": 40}
    assert {tag[2] for tag in r.timesteps.tags.values()} == set(range(40))
    assert r.params.total == layer.count_params() and r.params.recurrent == r.params.total


def test_static_rnn_with_lengths_under_control_flow_v2_runs_each_step_in_an_if():
    graph = tf.Graph()
    with graph.as_default(), control_flow("v2"):
        x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
        lengths = v1.placeholder(tf.int32, [None], name="lengths")
        cell = v1.nn.rnn_cell.GRUCell(5)
        v1.nn.static_rnn(cell, tf.unstack(x, axis=1), sequence_length=lengths, dtype=tf.float32)
    gd = graph.as_graph_def()
    assert sum(n.op == "StatelessIf" for n in gd.node) >= 4
    r = report(gd)
    assert r.recurrent and r.unrolled_steps == 4
    assert _cells(r) == [(0, "fw", "gru", "unrolled", 4)]


def test_embedding_updated_only_by_sparse_ops_counts():
    graph = tf.Graph()
    with graph.as_default():
        ids = v1.placeholder(tf.int32, [None, 5], name="ids")
        table = v1.get_variable("embedding", [1000, 16])
        w = v1.get_variable("head/w", [16, 3])
        logits = tf.matmul(tf.reduce_mean(tf.nn.embedding_lookup(table, ids), 1), w)
        v1.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(logits), name="train")
    r = report(graph.as_graph_def())  # no collection: the optimizer says what is trained
    assert r.params.total == 1000 * 16 + 16 * 3
    origin = {v.name: v.origin for v in r.params.variables}
    assert origin == {"embedding": "sparse update", "head/w": "variable"}
    assert r.params.source == "optimizer"


def test_fused_block_lstm_is_neither_unrolled_nor_a_loop():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [6, None, 3], name="x")  # time major
        w = v1.get_variable("w", [3 + 4, 16])
        b = v1.get_variable("b", [16])
        zero = tf.zeros(tf.stack([tf.shape(x)[1], 4]))
        tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.constant(6, tf.int64), x=x, cs_prev=zero, h_prev=zero,
            w=w, wci=tf.zeros([4]), wcf=tf.zeros([4]), wco=tf.zeros([4]), b=b,
        )  # fmt: skip
    r = report(graph.as_graph_def())
    assert r.recurrent and r.timesteps.forms == ("fused",) and r.unrolled_steps == 0
    assert _cells(r) == [(0, "fw", "block_lstm", "fused", 1)]
    assert r.params.total == 7 * 16 + 16 and r.params.recurrent == r.params.total


def test_keras_bidirectional_layers_in_dataflow_order_and_backward_is_bw():
    import tf_keras

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
        h = tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(4, return_sequences=True))(x)
        tf_keras.layers.GRU(6)(h)
    r = report(graph.as_graph_def(), steps=5)
    assert sorted((c.layer, c.direction, c.kind) for c in r.timesteps.cells) == [
        (0, "bw", "keras_lstm"),
        (0, "fw", "keras_lstm"),
        (1, "fw", "keras_gru"),
    ]
    layer_of = {v.name.split("/")[1]: (v.layer, v.direction) for v in r.params.variables}
    assert layer_of["backward_lstm"] == (0, "bw") and layer_of["forward_lstm"] == (0, "fw")
