"""tf.compat.v1 RNN cells through static_rnn, dynamic_rnn, the bidirectional variants and raw_rnn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpus.builders.common import Built, v1_graph_built
from corpus.truth import CellSize, Truth
from rnnviz.tfcompat import control_flow as use_control_flow
from rnnviz.tfcompat import tf, v1


def cell_of(c: CellSize) -> Any:
    """The tf.compat.v1 cell object for one CellSize."""
    rc = v1.nn.rnn_cell
    if c.kind == "basic_rnn":
        return rc.BasicRNNCell(c.units)
    if c.kind == "basic_lstm":
        return rc.BasicLSTMCell(c.units)
    if c.kind == "lstm":
        return rc.LSTMCell(c.units, use_peepholes=c.peepholes, num_proj=c.proj or None)
    if c.kind == "gru":
        return rc.GRUCell(c.units)
    raise ValueError(f"no tf.compat.v1 cell for kind {c.kind!r}")


def _wrapped(cell: Any, wrapper: str) -> Any:
    """DropoutWrapper / ResidualWrapper: common in real graphs, they add ops around the cell."""
    rc = v1.nn.rnn_cell
    if wrapper == "dropout":
        return rc.DropoutWrapper(cell, input_keep_prob=0.9, output_keep_prob=0.8)
    if wrapper == "residual":
        return rc.ResidualWrapper(cell)
    return cell


def _stack(cells: list[CellSize], wrappers: tuple[str, ...] = ()) -> Any:
    ordered = sorted(cells, key=lambda c: c.layer)
    wrappers = wrappers or ("",) * len(ordered)
    objs = [_wrapped(cell_of(c), w) for c, w in zip(ordered, wrappers, strict=True)]
    return objs[0] if len(objs) == 1 else v1.nn.rnn_cell.MultiRNNCell(objs)


def build(
    stem: Path,
    truth: Truth,
    api: str,
    control_flow: str = "v2",
    wrappers: tuple[str, ...] = (),
    **opts: Any,
) -> Built:
    first = truth.cells[0]
    graph = tf.Graph()
    with graph.as_default(), use_control_flow(control_flow):
        batch = 1 if api == "state_saving" else None  # saved states have a fixed batch
        x = v1.placeholder(tf.float32, [batch, first.steps, first.inputs], name="x")
        fw = _stack([c for c in truth.cells if c.direction == "fw"], wrappers)
        bw_cells = [c for c in truth.cells if c.direction == "bw"]
        bw = _stack(bw_cells) if bw_cells else None
        out = _API[api](x, fw, bw, **opts)
        out = tf.identity(out, name="output")
    return v1_graph_built(graph, [out])


def _static(x: Any, fw: Any, bw: Any, sequence_length: bool = False) -> Any:
    steps = tf.unstack(x, axis=1)
    if bw is not None:
        outputs, _, _ = v1.nn.static_bidirectional_rnn(fw, bw, steps, dtype=tf.float32)
        return tf.stack(outputs, 1)  # every step: the bw output of the last step is its first call
    lengths = v1.placeholder(tf.int32, [None], name="lengths") if sequence_length else None
    outputs, _ = v1.nn.static_rnn(fw, steps, sequence_length=lengths, dtype=tf.float32)
    return outputs[-1]


def _dynamic(x: Any, fw: Any, bw: Any) -> Any:
    outputs, _ = v1.nn.dynamic_rnn(fw, x, dtype=tf.float32)
    return outputs


def _dynamic_bidir(x: Any, fw: Any, bw: Any) -> Any:
    (out_fw, out_bw), _ = v1.nn.bidirectional_dynamic_rnn(fw, bw, x, dtype=tf.float32)
    return tf.concat([out_fw, out_bw], -1)


def _raw(x: Any, fw: Any, bw: Any) -> Any:
    """The raw_rnn docstring's loop: read step `time` until every sequence is finished."""
    steps, width = x.shape[1], x.shape[2]
    batch = tf.shape(x)[0]
    inputs = tf.TensorArray(tf.float32, size=steps).unstack(tf.transpose(x, [1, 0, 2]))
    lengths = tf.fill([batch], steps)

    def loop_fn(time: Any, cell_output: Any, cell_state: Any, loop_state: Any) -> tuple:
        state = fw.zero_state(batch, tf.float32) if cell_output is None else cell_state
        finished = time >= lengths
        next_input = tf.cond(
            tf.reduce_all(finished),
            lambda: tf.zeros([batch, width], tf.float32),
            lambda: inputs.read(time),
        )
        return finished, next_input, state, cell_output, None

    outputs, _, _ = v1.nn.raw_rnn(fw, loop_fn)
    return outputs.stack()


class _VariableStateSaver:
    """The state saver `static_state_saving_rnn` asks for: keeps each state in a non-trainable
    variable between runs (what tf.contrib's SequenceQueueingStateSaver did with a queue)."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.saved: dict[str, Any] = {}

    def state(self, name: str) -> Any:
        if name not in self.saved:
            self.saved[name] = v1.get_variable(
                f"saved_state/{name}",
                [1, self.units],
                trainable=False,
                initializer=v1.zeros_initializer(),
            )
        return self.saved[name].read_value()

    def save_state(self, name: str, value: Any) -> Any:
        return v1.assign(self.saved[name], value)


def _state_saving(x: Any, fw: Any, bw: Any) -> Any:
    saver = _VariableStateSaver(fw.output_size)
    outputs, _ = v1.nn.static_state_saving_rnn(fw, tf.unstack(x, axis=1), saver, ("c", "h"))
    return outputs[-1]


_API = {
    "static": _static,
    "state_saving": _state_saving,
    "dynamic": _dynamic,
    "dynamic_bidir": _dynamic_bidir,
    "raw": _raw,
}
