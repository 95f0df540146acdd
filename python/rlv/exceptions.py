"""Exceptions raised by rlv.

Grading *outcomes* (no answer, unparseable, budget exceeded, invalid gold) are statuses, never
exceptions. Exceptions signal misuse or bugs:

* invalid arguments (unknown ``mode``/``percent``, length mismatch) raise the builtin
  :class:`ValueError` (or :class:`TypeError` for wrong types);
* :class:`RlvError` is the base of everything rlv raises itself;
* :class:`DumpError` (a subclass): a malformed row of a sample dump (file, line, field);
* :class:`InternalError` (a subclass) means the Rust core panicked: a bug, please report it.
"""

from rlv._core import DumpError, InternalError, RlvError

__all__ = ["DumpError", "InternalError", "RlvError"]
