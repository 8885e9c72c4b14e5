"""Subcommands of the `rnnviz` CLI, one module per topic; each exposes `register(subparsers)`."""
