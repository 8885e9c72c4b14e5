"""The graph report: walk any TensorFlow graph and say what it holds and costs.

`report(source) -> GraphReport` and `compare(a, b) -> Comparison` live in `rnnviz.report.api`
and are re-exported here. Submodules are small and pure (GraphDef in, plain data out); see
`sources`, `roles`, `timesteps`, `loops`, `params`, `states`, `flops`, `memory`, `text`.
"""

from __future__ import annotations
