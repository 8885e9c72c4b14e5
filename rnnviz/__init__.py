"""rnnviz: build, train, walk and show TensorFlow RNN graphs (static_rnn vs dynamic_rnn).

Importing the package is cheap; TensorFlow loads on first use of a name that needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

from rnnviz.errors import RnnvizError, SpecError
from rnnviz.spec import LayerSpec, ModelSpec, load_spec, sample_names

_LAZY = {
    "build": "rnnviz.builder",
    "BuiltModel": "rnnviz.builder",
    "StepTensor": "rnnviz.builder",
    "train": "rnnviz.training",
    "Run": "rnnviz.training",
    "RunStore": "rnnviz.store",
    "load_data": "rnnviz.data",
    "Dataset": "rnnviz.data",
    # Public functions never share a name with a submodule: importing `rnnviz.reporting.x`
    # binds `rnnviz.reporting`, never `rnnviz.report`, so `rnnviz.report(...)` stays the function.
    "report": "rnnviz.reporting",
    "compare": "rnnviz.reporting",
    "GraphReport": "rnnviz.reporting",
}

__all__ = [
    "BuiltModel",
    "Dataset",
    "GraphReport",
    "LayerSpec",
    "ModelSpec",
    "RnnvizError",
    "Run",
    "RunStore",
    "SpecError",
    "StepTensor",
    "build",
    "compare",
    "load_data",
    "load_spec",
    "report",
    "sample_names",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
