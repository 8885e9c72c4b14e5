"""The one place rnnviz imports TensorFlow.

TF 2.21 only offers the TF1 RNN cells (`tf.compat.v1.nn.rnn_cell.*`) through tf-keras, and only when
`TF_USE_LEGACY_KERAS=1` is set *before* the first `import tensorflow`. Every other module does
`from rnnviz.tfcompat import tf` so that the order can never be wrong. This module also quiets
TensorFlow's start-up log noise and offers the one piece of global TF state rnnviz must touch
(the control-flow v1/v2 switch) as a scoped, locked context manager.

Not here: protobuf message types. Reading a graph file needs only those, and they come without
TensorFlow from `rnnviz.reporting.protos`; TF is imported to build, train, export, or to read a
live `tf.Graph`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic CPU numerics across runs

import warnings

# tf-keras warns on every TF1 cell it creates that the cell is deprecated; rnnviz builds them on purpose.
warnings.filterwarnings(
    "ignore", message=r".*is deprecated and will be removed", category=UserWarning
)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(tensorflow|tf_keras)\b.*")

import tensorflow as tf  # noqa: E402
from tensorflow.python.ops import control_flow_util  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
logging.getLogger("absl").setLevel(logging.ERROR)
try:  # absl prints a warning banner on first log call unless initialised
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
except ImportError:  # pragma: no cover - absl ships with TF
    pass

v1 = tf.compat.v1

_control_flow_lock = threading.RLock()


@contextlib.contextmanager
def control_flow(version: str) -> Iterator[None]:
    """Build with control flow ``"v1"`` (Enter/Exit frames) or ``"v2"`` (While op + functions).

    TF decides this from a process-wide flag read while ops are created, so the flag is set for
    the duration of the block only, under a lock, and restored afterwards: no build leaks it.
    """
    if version not in ("v1", "v2"):
        raise ValueError(f"control_flow must be 'v1' or 'v2', got {version!r}")
    with _control_flow_lock:
        saved = control_flow_util.ENABLE_CONTROL_FLOW_V2
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = version == "v2"
        try:
            yield
        finally:
            control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved


@contextlib.contextmanager
def native_output_silenced() -> Iterator[None]:
    """Silence what TF's C++ code prints on file descriptors 1 and 2 during the block.

    tfprof prints "N ops no flops stats due to incomplete shapes." on every call; the caller
    reads its numbers from the returned proto, so the line is only noise in a report.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in saved:
            os.dup2(devnull, fd)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


__all__ = ["control_flow", "native_output_silenced", "tf", "v1"]
