"""The two stacked-bidirectional builders `tf.contrib.rnn` had and TF 2 removed.

Each layer runs a forward and a backward cell over the previous layer's output; their outputs are
concatenated and fed to the next layer. Variable scopes follow contrib's
(`stack_bidirectional_rnn/cell_{i}/{fw,bw}/...`), and the static and dynamic versions use the same
names, so a checkpoint of one restores into the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnviz.tfcompat import tf, v1


def _check(cells_fw: Sequence[Any], cells_bw: Sequence[Any]) -> None:
    if not cells_fw:
        raise ValueError("stacked bidirectional RNN needs at least one forward cell")
    if len(cells_fw) != len(cells_bw):
        raise ValueError(
            f"cells_fw and cells_bw must have the same length, got {len(cells_fw)} and {len(cells_bw)}"
        )


def stack_bidirectional_rnn(
    cells_fw: Sequence[Any],
    cells_bw: Sequence[Any],
    inputs: list[tf.Tensor],
    initial_states_fw: Sequence[Any] | None = None,
    initial_states_bw: Sequence[Any] | None = None,
    dtype: Any = None,
    sequence_length: tf.Tensor | None = None,
    scope: str | None = None,
) -> tuple[list[tf.Tensor], tuple[Any, ...], tuple[Any, ...]]:
    """Static stacked bidirectional RNN: inputs and outputs are Python lists of T tensors."""
    _check(cells_fw, cells_bw)
    states_fw, states_bw = [], []
    prev_layer = inputs
    with v1.variable_scope(scope or "stack_bidirectional_rnn"):
        for i, (cell_fw, cell_bw) in enumerate(zip(cells_fw, cells_bw, strict=True)):
            init_fw = initial_states_fw[i] if initial_states_fw else None
            init_bw = initial_states_bw[i] if initial_states_bw else None
            with v1.variable_scope(f"cell_{i}") as cell_scope:
                prev_layer, state_fw, state_bw = v1.nn.static_bidirectional_rnn(
                    cell_fw,
                    cell_bw,
                    prev_layer,
                    initial_state_fw=init_fw,
                    initial_state_bw=init_bw,
                    dtype=dtype,
                    sequence_length=sequence_length,
                    scope=cell_scope,
                )
            states_fw.append(state_fw)
            states_bw.append(state_bw)
    return prev_layer, tuple(states_fw), tuple(states_bw)


def stack_bidirectional_dynamic_rnn(
    cells_fw: Sequence[Any],
    cells_bw: Sequence[Any],
    inputs: tf.Tensor,
    initial_states_fw: Sequence[Any] | None = None,
    initial_states_bw: Sequence[Any] | None = None,
    dtype: Any = None,
    sequence_length: tf.Tensor | None = None,
    parallel_iterations: int | None = None,
    swap_memory: bool = False,
    time_major: bool = False,
    scope: str | None = None,
) -> tuple[tf.Tensor, tuple[Any, ...], tuple[Any, ...]]:
    """Dynamic stacked bidirectional RNN: one while loop per layer and direction."""
    _check(cells_fw, cells_bw)
    states_fw, states_bw = [], []
    prev_layer = inputs
    with v1.variable_scope(scope or "stack_bidirectional_rnn"):
        for i, (cell_fw, cell_bw) in enumerate(zip(cells_fw, cells_bw, strict=True)):
            init_fw = initial_states_fw[i] if initial_states_fw else None
            init_bw = initial_states_bw[i] if initial_states_bw else None
            with v1.variable_scope(f"cell_{i}") as cell_scope:
                (out_fw, out_bw), (state_fw, state_bw) = v1.nn.bidirectional_dynamic_rnn(
                    cell_fw,
                    cell_bw,
                    prev_layer,
                    initial_state_fw=init_fw,
                    initial_state_bw=init_bw,
                    sequence_length=sequence_length,
                    parallel_iterations=parallel_iterations,
                    swap_memory=swap_memory,
                    time_major=time_major,
                    dtype=dtype,
                    scope=cell_scope,
                )
                prev_layer = tf.concat([out_fw, out_bw], 2)
            states_fw.append(state_fw)
            states_bw.append(state_bw)
    return prev_layer, tuple(states_fw), tuple(states_bw)


__all__ = ["stack_bidirectional_dynamic_rnn", "stack_bidirectional_rnn"]
