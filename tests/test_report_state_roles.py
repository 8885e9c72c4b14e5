"""`CellCall.op_roles` names the ops that compute a call's new state (`state:c`, `state:h`).

The truth is what TensorFlow itself returns as the state: `static_rnn` / `dynamic_rnn` give the
output of every step (h) and the final state tuple (c, h); those tensors' ops must carry the roles.
"""

from __future__ import annotations

import pytest

from rnnviz.reporting.analysis import analyse
from rnnviz.tfcompat import control_flow, tf, v1

pytestmark = pytest.mark.slow  # builds TensorFlow graphs

STEPS, IN, UNITS = 4, 3, 5


def _static(cell_class: str) -> tuple[tf.Graph, list, object]:
    graph = tf.Graph()
    with graph.as_default():
        xs = [v1.placeholder(tf.float32, [None, IN]) for _ in range(STEPS)]
        cell = getattr(v1.nn.rnn_cell, cell_class)(UNITS)
        outputs, state = v1.nn.static_rnn(cell, xs, dtype=tf.float32)
    return graph, outputs, state


def _calls(graph: tf.Graph) -> list:
    calls = sorted(analyse(graph).calls, key=lambda c: c.step)
    assert len(calls) == STEPS
    return calls


def test_lstm_calls_name_their_new_c_and_h():
    graph, outputs, state = _static("LSTMCell")
    calls = _calls(graph)
    for call, out in zip(calls, outputs, strict=True):
        assert call.op_roles[out.op.name] == "state:h"
        assert sorted(call.op_roles.values()).count("state:c") == 1
    assert calls[-1].op_roles[state.c.op.name] == "state:c"
    assert calls[-1].op_roles[state.h.op.name] == "state:h"


def test_gru_calls_name_their_new_h():
    graph, outputs, state = _static("GRUCell")
    calls = _calls(graph)
    for call, out in zip(calls, outputs, strict=True):
        states = {op: r for op, r in call.op_roles.items() if r.startswith("state:")}
        assert states == {out.op.name: "state:h"}
    assert calls[-1].op_roles[state.op.name] == "state:h"


def test_a_v1_loop_body_names_its_new_c_and_h():
    graph = tf.Graph()
    with graph.as_default(), control_flow("v1"):
        x = v1.placeholder(tf.float32, [None, STEPS, IN])
        cell = v1.nn.rnn_cell.LSTMCell(UNITS)
        _, state = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    (call,) = analyse(graph).calls
    # The final state is the loop's Exit of what the body hands to NextIteration.
    body = {}
    for role, final in (("state:c", state.c), ("state:h", state.h)):
        op = final.op
        while op.type != "Exit":
            op = op.inputs[0].op
        merge = op.inputs[0].op.inputs[0].op  # Exit <- Switch <- Merge(Enter, NextIteration)
        body[merge.inputs[1].op.inputs[0].op.name] = role
    assert {op: r for op, r in call.op_roles.items() if r.startswith("state:")} == body
