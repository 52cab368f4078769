"""Errors the adapters raise for the user to read: each one is a single line, printed by ``meds-bench eval``."""

from __future__ import annotations


class AdapterError(RuntimeError):
    """An adapter problem the user must fix; its message is one line naming the model and what to do."""


class MissingCredentials(AdapterError):
    """The provider's key is not in the environment."""


class RunStopped(AdapterError):
    """A request failed in a way no retry or rerun can fix (unknown or retired model, refused key,
    a request form the model rejects): the run stops; answers received so far stay in the cache."""


class BatchModeError(SystemExit):
    """``batch=true`` cannot run as asked; uncaught, it ends the program with its one-line message."""
