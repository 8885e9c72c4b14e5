"""The graph report: walk any TensorFlow graph and say what it holds and costs.

    import rnnviz
    r = rnnviz.report("model.pb")   # or a BuiltModel, tf.Graph, GraphDef, .meta, SavedModel dir...
    r.to_dict()                      # JSON-ready; GraphReport.from_dict(...) == r
    a = analyse("model.pb")          # the one analysis (index, roles, cells, loops, shapes)
    report(a) == r                   # ... which report() and the structure view both read

Modules: `protos` (message types, no TensorFlow), `sources` (load, parse only), `graph` (the
index and the walking rules), `roles`, `timesteps`, `loops`, `params`, `states`, `shapes`,
`flops`, `memory`, `analysis` (runs them once), `api` (assembles the report), `compare`,
`text` (presentation).
The package is `rnnviz.reporting` so that the name `rnnviz.report` is only ever the function.
"""

from __future__ import annotations

from rnnviz.reporting.analysis import Analysis, analyse
from rnnviz.reporting.api import compare, report
from rnnviz.reporting.model import Comparison, GraphReport

__all__ = ["Analysis", "Comparison", "GraphReport", "analyse", "compare", "report"]
