"""A corpus of foreign RNN graphs: made with TensorFlow's own APIs (never rnnviz.build), each also
frozen, with the truth computed independently of rnnviz's analysis (issue 8, item 5).

- `registry.py`: one entry per graph (name -> builder + truth), no TensorFlow;
- `truth.py`: what a graph is, from the sizes it was built with (closed forms, no TensorFlow);
- `builders/`: the graphs in plain TF (`rnnviz.tfcompat` only for the import order);
- `build.py`: builds them all, once, in one subprocess; `fixtures.py`: the session fixture;
- `checks.py`: report vs truth, shared by `tests/test_corpus.py` and `baseline.py`
  (which writes BASELINE.md: what failed before issue 8).

Working on the analysis against it (tests/ and the tree on PYTHONPATH):
    RNNVIZ_CORPUS_CACHE=/tmp/corpus pytest tests/test_corpus.py -k keras_lstm   # built once, kept
    python -m corpus.build /tmp/some_dir v1_static_gru nested_while_cfv2         # a few graphs
    python -m corpus.baseline /tmp/corpus/<hash> /tmp/now.md                     # the whole table
"""
