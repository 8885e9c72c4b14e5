"""User-facing errors: each one prints as a single line naming the thing and the fix.

The CLI catches `RnnvizError` and exits with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RnnvizError(Exception):
    """Base class of every error meant for a user (one line, exit code 2 in the CLI)."""


class SpecError(RnnvizError, ValueError):
    """A model spec has an invalid field: names the field, the value and what is allowed."""


class SequenceLengthError(RnnvizError, ValueError):
    """A static (unrolled) graph was fed a number of time steps other than the one it was built for."""


class InputFileError(RnnvizError, ValueError):
    """A file given by the user cannot be read as what it claims to be (graph, SavedModel, ...)."""


class StepsError(RnnvizError, ValueError):
    """A trip count given for a graph's loops (`steps`, `--steps`) is not a positive number or
    names no loop of the graph."""


class DataError(RnnvizError, ValueError):
    """A dataset is missing, corrupt, or does not fit the spec."""


class RunStoreError(RnnvizError):
    """The run store cannot find or open a run."""
