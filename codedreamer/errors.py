"""Errors a user can fix, each caught once at the CLI edge and printed as one line.

Each carries the process exit code it maps to: 2 for usage or configuration problems
(a bad setting, a missing model file), 1 for runtime failures.
"""

from __future__ import annotations


class CodeDreamerError(Exception):
    """Base for every error shown to the user as one clear line."""

    exit_code: int = 1


class ConfigError(CodeDreamerError):
    """A setting is unknown or has a bad value."""

    exit_code = 2


class ModelLoadError(CodeDreamerError):
    """A model file is missing, unreadable, not GGUF, or fails to load."""

    exit_code = 2


class PromptBudgetError(CodeDreamerError):
    """The parts of a prompt that must be sent do not fit the model's context window."""

    exit_code = 2


class UsageError(CodeDreamerError):
    """A command was called with arguments that cannot work (unknown dream id, bad path)."""

    exit_code = 2


class StorageError(CodeDreamerError):
    """A file on disk is corrupt or cannot be written; nothing was overwritten."""

    exit_code = 1


class CodeIndexError(CodeDreamerError):
    """The code index cannot be opened or written."""

    exit_code = 1


class GraphError(CodeDreamerError):
    """The knowledge graph files are corrupt or cannot be written; they are kept as they are."""

    exit_code = 1


class EngineBusyError(CodeDreamerError):
    """Another process already runs the engine on this DATA_DIR."""

    exit_code = 1


class GraphConflictError(GraphError):
    """Another process saved the graph since this one loaded it; reload before saving."""
