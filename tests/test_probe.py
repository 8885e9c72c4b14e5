"""Activation probes: a dynamic graph's unrolled twin computes exactly what its while loop computes
(outputs and final states, atol 1e-5), for uni- and bidirectional, stacked, mixed, variable-length
and time-major models; the recorded gates are the ones the LSTM equations use."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.builder import build
from rnnviz.probe import Probe, activations_from_checkpoint
from rnnviz.spec import LayerSpec, ModelSpec
from rnnviz.tfcompat import tf

T, F = 6, 5


def _spec(layers, unroll="dynamic", **kw):
    return ModelSpec(
        name=f"probe_{unroll}",
        layers=tuple(LayerSpec(c, u) for c, u in layers),
        unroll=unroll,
        time_steps=T,
        input_size=F,
        num_classes=3,
        **kw,
    )


DYNAMIC = {
    "uni_lstm": _spec([("lstm", 8)]),
    "uni_gru": _spec([("gru", 7)]),
    "bi_lstm": _spec([("lstm", 6)], bidirectional=True),
    "stacked_mixed": _spec([("lstm", 8), ("gru", 6), ("basic_rnn", 4)]),
    "stacked_bi_mixed": _spec([("basic_lstm", 4), ("gru", 6)], bidirectional=True),
    "v1_loop": _spec([("lstm", 5), ("lstm", 5)], control_flow="v1"),
    "time_major": _spec([("lstm", 5), ("gru", 4)], time_major=True),
    "variable_length": _spec([("lstm", 6), ("gru", 5)], variable_length=True),
    "variable_length_bi": _spec(
        [("gru", 6), ("lstm", 5)], bidirectional=True, variable_length=True
    ),
    # a static graph with sequence_length puts each step in a cond, whose ops TF will not fetch:
    # it is probed through twins too, and they must equal the static graph itself
    "static_variable_length": _spec(
        [("gru", 6), ("lstm", 4)], unroll="static", variable_length=True, control_flow="v1"
    ),
}


def _batch(spec, n=4):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, T, F)).astype(np.float32)
    lengths = None
    if spec.variable_length:
        lengths = np.array([T, 2, 4, 2][:n], np.int32)
        x[np.arange(T)[None, :] >= lengths[:, None]] = 0.0
    return x, lengths


def _live(spec):
    model = build(spec)
    sess = model.session()
    sess.run(model.init_op)
    # Non-trivial weights: a few Adam steps, so a probe that ignored the live values would fail.
    x, lengths = _batch(spec, 4)
    xin = x.transpose(1, 0, 2) if spec.time_major else x
    for _ in range(3):
        sess.run(model.train_op, model.feed(xin, np.array([0, 1, 2, 0]), lengths, training=True))
    return model, sess


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DYNAMIC))
def test_twin_equals_the_dynamic_graph(name):
    spec = DYNAMIC[name]
    model, sess = _live(spec)
    x, lengths = _batch(spec)
    probe = Probe(model, x, lengths)
    try:
        acts = probe.record(sess)
        xin = x.transpose(1, 0, 2) if spec.time_major else x
        outputs, final_state = sess.run(
            [model.outputs, model.final_state], model.feed(xin, lengths=lengths)
        )
        if spec.time_major:
            outputs = outputs.transpose(1, 0, 2)
        # 1. the recorded top-layer h (fw | bw) is the loop's output, zeros past each length included
        top = len(spec.layers) - 1
        h = np.concatenate([acts[(top, d, "h")] for d in spec.directions], axis=2)
        np.testing.assert_allclose(h, outputs, atol=1e-5)
        # 2. each twin's outputs and final states are the loop's, for the rows it ran
        assert sum(len(t.rows) for t in probe.twins) == len(x)
        for twin in probe.twins:
            t_out, t_state = twin.session.run(
                [twin.model.outputs, twin.model.final_state], twin.feed
            )
            if spec.time_major:
                t_out = t_out.transpose(1, 0, 2)
            np.testing.assert_allclose(t_out, outputs[twin.rows, : t_out.shape[1]], atol=1e-5)
            live_rows = tf.nest.map_structure(lambda a, rows=twin.rows: a[rows], final_state)
            tf.nest.assert_same_structure(live_rows, t_state)
            for a, b in zip(tf.nest.flatten(live_rows), tf.nest.flatten(t_state), strict=True):
                np.testing.assert_allclose(b, a, atol=1e-5)
        # 3. every layer and direction has its kinds, shaped [P, T, units]
        for i, layer in enumerate(spec.layers):
            kinds = {"lstm": "hcijfo", "basic_lstm": "hcijfo", "gru": "hru", "basic_rnn": "h"}
            for d in spec.directions:
                got = {k for (li, dd, k) in acts if li == i and dd == d}
                assert got == set(kinds[layer.cell])
                assert acts[(i, d, "h")].shape == (len(x), T, layer.units)
    finally:
        probe.close()
        sess.close()


def test_static_probe_reads_the_live_graph_and_the_gates_obey_the_lstm_equations():
    spec = _spec([("basic_lstm", 6), ("gru", 4)], unroll="static")
    model, sess = _live(spec)
    x, _ = _batch(spec, 3)
    probe = Probe(model, x)
    assert probe.twins == []  # fetched from the training graph itself
    acts = probe.record(sess)
    outputs = sess.run(model.outputs, model.feed(x))
    np.testing.assert_allclose(acts[(1, "fw", "h")], outputs, atol=1e-6)
    i, j, f, o, c, h = (acts[(0, "fw", k)] for k in "ijfoch")
    c_prev = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)
    np.testing.assert_allclose(c, f * c_prev + i * j, atol=1e-5)  # f includes forget_bias
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-5)
    assert ((i > 0) & (i < 1)).all() and (np.abs(j) < 1).all()
    sess.close()


def test_probe_follows_training_weights():
    spec = DYNAMIC["uni_lstm"]
    model, sess = _live(spec)
    x, _ = _batch(spec)
    probe = Probe(model, x)
    before = probe.record(sess)[(0, "fw", "h")]
    sess.run(model.train_op, model.feed(x, np.array([2, 2, 1, 0]), training=True))
    after = probe.record(sess)[(0, "fw", "h")]
    assert not np.allclose(before, after)  # the twin got the new weights
    np.testing.assert_allclose(after, sess.run(model.outputs, model.feed(x)), atol=1e-5)
    probe.close()
    sess.close()


@pytest.mark.slow
def test_activations_from_a_checkpoint(tmp_path):
    spec = DYNAMIC["stacked_bi_mixed"]
    model, sess = _live(spec)
    x, _ = _batch(spec)
    with model.graph.as_default():
        path = model.saver.save(sess, str(tmp_path / "m.ckpt"))
    probe = Probe(model, x)
    live = probe.record(sess)
    probe.close()
    sess.close()
    restored = activations_from_checkpoint(spec, path, x)
    assert restored.keys() == live.keys()
    for key in live:
        np.testing.assert_allclose(restored[key], live[key], atol=1e-6)
