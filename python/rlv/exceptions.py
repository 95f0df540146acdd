"""Every exception class of rlv, in one place.

Grading *outcomes* (no answer, unparseable, budget exceeded, invalid gold) are statuses, never
exceptions. Exceptions signal misuse, bad input or bugs:

* invalid arguments (unknown ``mode``/``percent``, length mismatch) raise the builtin
  :class:`ValueError` (or :class:`TypeError` for wrong types);
* :class:`RlvError` is the base of everything rlv raises itself;
* :class:`DumpError` (a subclass): a malformed row of a sample dump (file, line, field);
* :class:`InternalError` (a subclass) means the Rust core panicked: a bug, please report it;
* :class:`ConfigError`: an invalid training configuration (names the key);
* :class:`DataError`: a malformed data file (file, line, field);
* :class:`RunDirError`: a run directory that cannot be used as asked;
* :class:`BackendUnavailableError`: a generation backend that cannot run here (vLLM not
  installed); also an :class:`ImportError`, so ``except ImportError`` keeps catching it.

``ConfigError``, ``DataError`` and ``RunDirError`` are also :class:`ValueError`\\ s.
"""

from __future__ import annotations

import os

from rlv._core import DumpError, InternalError, RlvError

__all__ = [
    "BackendUnavailableError",
    "ConfigError",
    "DataError",
    "DumpError",
    "InternalError",
    "RlvError",
    "RunDirError",
]


class ConfigError(RlvError, ValueError):
    """An invalid configuration: unknown key, wrong type or invalid value (names the key)."""


class DataError(RlvError, ValueError):
    """A malformed data file: the message starts with ``file:line:`` and names the field.

    The location is also available as the attributes ``path``, ``line`` and ``field``
    (each ``None`` when not applicable).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path: str | None = None if path is None else str(path)
        self.line: int | None = line
        self.field: str | None = field
        location = ""
        if self.path is not None:
            location = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(location + message)


class RunDirError(RlvError, ValueError):
    """A run directory that cannot be used as asked (it holds another run, or has nothing to
    resume)."""


class BackendUnavailableError(RlvError, ImportError):
    """A generation backend was asked for but cannot run here (e.g. vLLM is not installed)."""
