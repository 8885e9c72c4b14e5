"""Builders of the corpus graphs, in plain TensorFlow (never `rnnviz.build`).

Each builder makes one graph at small sizes and returns a `Built` (common.py): the live graph (a
GraphDef, or a SavedModel directory it wrote), its frozen twin, and the trainable parameter count
read from the variables TensorFlow created. Imported only by the corpus build subprocess
(`corpus.build`), so the test process never needs TensorFlow for the corpus.
"""
