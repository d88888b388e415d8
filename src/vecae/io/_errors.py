"""Errors and warnings specific to reading and writing embeddings."""

from __future__ import annotations

from vecae._exceptions import InputError, OutputExistsError

__all__ = ["DuplicateKeyWarning", "OutputExistsError", "input_error", "short"]


class DuplicateKeyWarning(UserWarning):
    """A key occurs more than once; the first occurrence is kept and the others are dropped."""


def short(value: object, limit: int = 40) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, safe to embed in a one-line message."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    # repr() already escapes newlines in strings, but not in arbitrary objects.
    return text.replace("\n", "\\n").replace("\r", "\\r")


def input_error(source: str, where: str | None, problem: str) -> InputError:
    """Build a one-line :class:`InputError`: ``"<source>: <where>: <problem>"``.

    Parameters
    ----------
    source
        The file the bad data came from (or goes to).
    where
        ``"line 12"``, ``"row 3"`` or ``None`` when the problem concerns the whole file.
    problem
        What is wrong, in a few words.
    """
    parts = [source] if where is None else [source, where]
    message = ": ".join([*parts, problem])
    return InputError(" ".join(message.splitlines()))
