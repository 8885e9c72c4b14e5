"""Peak memory of one training step of a graph rnnviz built (it has to run it, so never for files).

CPU memory info from `tf.config.experimental.get_memory_info` is all zeros here; what works is a
FULL_TRACE `RunMetadata`, whose step stats hold every allocation and deallocation with a time
stamp. Replaying those records in time order gives the true peak; summing the per-node totals
instead over-states it (3.5-3.9x for the 3-layer LSTM in bench/results/claims.txt), which the
summary also reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnviz.reporting.model import MemorySummary


def peak_from_step_stats(step_stats: Any) -> tuple[int, int, int]:
    """(peak bytes, naive per-node sum, number of allocation records) of a StepStats proto."""
    events: list[tuple[int, int]] = []
    naive = 0
    for dev in step_stats.dev_stats:
        for node in dev.node_stats:
            for mem in node.memory:
                naive += max(int(mem.total_bytes), 0)
                for rec in mem.allocation_records:
                    events.append((int(rec.alloc_micros), int(rec.alloc_bytes)))
    # At equal times free before allocating: a buffer handed over in the same microsecond is
    # not counted twice.
    events.sort(key=lambda e: (e[0], e[1]))
    live = peak = 0
    for _, delta in events:
        live += delta
        peak = max(peak, live)
    return peak, naive, len(events)


def measure_training_step(model: Any, batch: int = 32, seed: int = 0) -> MemorySummary:
    """Run one training step of a BuiltModel with FULL_TRACE and replay its allocations."""
    from rnnviz.tfcompat import v1

    spec = model.spec
    steps = spec.time_steps or 28
    rng = np.random.default_rng(seed)
    shape = (steps, batch, spec.input_size) if spec.time_major else (batch, steps, spec.input_size)
    dtype = model.inputs.dtype.as_numpy_dtype
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.integers(0, spec.num_classes, size=batch)
    lengths = np.full(batch, steps, np.int32) if model.sequence_length is not None else None
    fetch = model.train_op if model.train_op is not None else model.logits
    options = v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE)
    metadata = v1.RunMetadata()
    with model.session(intra_op=2, inter_op=1) as sess:
        sess.run(model.init_op)
        sess.run(fetch, feed_dict=model.feed(x, y, lengths), options=options, run_metadata=metadata)
    peak, naive, count = peak_from_step_stats(metadata.step_stats)
    return MemorySummary(
        peak_bytes=peak,
        naive_sum_bytes=naive,
        allocations=count,
        batch=batch,
        steps=steps,
        note=(
            f"one training step, batch {batch}, T={steps}: allocation records replayed in time "
            "order (summing per-node totals instead would say "
            f"{naive / peak:.1f}x as much)"
            if peak
            else "no allocation records were traced"
        ),
    )


__all__ = ["measure_training_step", "peak_from_step_stats"]
