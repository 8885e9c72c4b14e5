"""The FLOPs note of a graph whose recurrence is one fused op says so, not "unrolled"."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.tfcompat import tf, v1

pytestmark = pytest.mark.slow  # builds TensorFlow graphs

STEPS, IN, UNITS = 4, 3, 5


def _fused_graph(op: str) -> tf.Graph:
    graph = tf.Graph()
    rng = np.random.default_rng(0)
    with graph.as_default():
        x = v1.placeholder(tf.float32, [STEPS, 1, IN])
        h = tf.zeros([1, UNITS])
        w = v1.get_variable("w", initializer=rng.standard_normal((IN + UNITS, 4 * UNITS)))
        b = v1.get_variable("b", initializer=np.zeros(4 * UNITS))
        peep = tf.zeros([UNITS])
        getattr(tf.raw_ops, op)(
            seq_len_max=tf.constant(STEPS, tf.int64), x=x, cs_prev=h, h_prev=h,
            w=tf.cast(w, tf.float32), b=tf.cast(b, tf.float32), wci=peep, wcf=peep, wco=peep,
        )  # fmt: skip
    return graph


@pytest.mark.parametrize("op", ["BlockLSTM", "BlockLSTMV2"])
def test_fused_op_note(op):
    r = rnnviz.report(_fused_graph(op))
    assert r.flops.note == f"per example; no loop: the fused {op} op runs every step"


def test_unrolled_note():
    graph = tf.Graph()
    with graph.as_default():
        xs = [v1.placeholder(tf.float32, [None, IN]) for _ in range(STEPS)]
        v1.nn.static_rnn(v1.nn.rnn_cell.BasicRNNCell(UNITS), xs, dtype=tf.float32)
    assert rnnviz.report(graph).flops.note == (
        "per example; no loop: every step is unrolled in the graph"
    )
