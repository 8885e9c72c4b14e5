"""The graph report: walk any TensorFlow graph and say what it holds and costs.

    import rnnviz
    r = rnnviz.report("model.pb")   # or a BuiltModel, tf.Graph, GraphDef, .meta, SavedModel dir...
    r.to_dict()                      # JSON-ready; GraphReport.from_dict(...) == r

Modules: `sources` (load, parse only), `roles`, `timesteps`, `loops`, `params`, `states`,
`shapes`, `flops`, `memory`, `compare`, `text` (presentation), `api` (runs them all).
The package is `rnnviz.reporting` so that the name `rnnviz.report` is only ever the function.
"""

from __future__ import annotations

from rnnviz.reporting.api import compare, report
from rnnviz.reporting.model import Comparison, GraphReport

__all__ = ["Comparison", "GraphReport", "compare", "report"]
