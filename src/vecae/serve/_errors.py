"""The one error shape every 4xx answer has: one line of JSON naming the field and the row."""

from __future__ import annotations

from typing import Any

__all__ = ["RequestError", "error_body"]


class RequestError(Exception):
    """A request the service refuses; becomes ``{"error": ..., "field": ..., "row": ...}``.

    Parameters
    ----------
    status : int
        The HTTP status (4xx).
    field : str or None
        The request field at fault (``"vectors"``, ``"k"``, ...).
    message : str
        What is wrong, in words.
    row : int or None
        The row (or list position) at fault, 0-based.
    """

    def __init__(self, status: int, field: str | None, message: str, row: int | None = None):
        super().__init__(message)
        self.status = status
        self.field = field
        self.row = row
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.message, field=self.field, row=self.row)


def error_body(message: str, *, field: str | None = None, row: int | None = None) -> dict[str, Any]:
    """``{"error": "<field>[<row>]: <message>", "field": ..., "row": ...}`` on one line."""
    where = field or ""
    if field is not None and row is not None:
        where = f"{field}[{row}]"
    text = " ".join(message.split())
    return {"error": f"{where}: {text}" if where else text, "field": field, "row": row}
