"""The graph report: walk any TensorFlow graph and say what it holds and costs.

    from rnnviz.report import report, compare
    r = report("model.pb")          # or a BuiltModel, tf.Graph, GraphDef, .meta, SavedModel dir...
    r.to_dict()                      # JSON-ready; GraphReport.from_dict(...) == r

Modules: `sources` (load, parse only), `roles`, `timesteps`, `loops`, `params`, `states`,
`shapes`, `flops`, `memory`, `compare`, `text` (presentation), `api` (runs them all).

Name clash, solved on purpose: `rnnviz.report` is this package *and* the function users call
(`rnnviz.report(source)`). Once the package is imported Python binds the package to that
attribute of `rnnviz`, so the package module itself is made callable (it forwards to
`api.report`); `rnnviz.report(x)`, `rnnviz.report.report(x)` and `from rnnviz.report import
report` are all the same call.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from rnnviz.report.api import compare, report
from rnnviz.report.model import Comparison, GraphReport


class _CallableModule(types.ModuleType):
    def __call__(self, source: Any, **kwargs: Any) -> GraphReport:
        return report(source, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Comparison", "GraphReport", "compare", "report"]
