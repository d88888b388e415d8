"""Request bodies: their schemas (which ``/docs`` shows) and their parsing into numpy arrays.

JSON bodies are validated by pydantic's JSON parser in strict mode (a string where a number
belongs is refused, not converted). Every refusal is a :class:`RequestError` naming the field
and the row. Bulk encoders can send ``application/x-npy`` instead of JSON: a float ``.npy``
array read with ``allow_pickle=False``, which skips the cost of parsing numbers from text.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vecae.serve._errors import RequestError

__all__ = [
    "NPY_TYPE",
    "AnomalyRequest",
    "EncodeRequest",
    "ReconstructRequest",
    "SearchRequest",
    "check_rows",
    "parse_json",
    "parse_npy",
]

NPY_TYPE = "application/x-npy"

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Vectors = Annotated[
    list[list[Number]],
    Field(description="Input vectors, one list of numbers per row, as wide as the model's input."),
]
Precision = Literal["float32", "float16", "int8", "binary"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EncodeRequest(_Strict):
    """``POST /v1/encode``."""

    vectors: Vectors
    dim: Annotated[int | None, Field(strict=True, ge=1)] = Field(
        default=None, description="Keep the first `dim` coordinates (models that support it)."
    )
    precision: Precision | None = Field(
        default=None, description="Code precision (models that support it); default float32."
    )


class SearchRequest(_Strict):
    """``POST /v1/search``: exactly one of ``vectors``, ``keys`` or ``basket``."""

    vectors: Vectors | None = None
    keys: list[Annotated[str, Field(strict=True)]] | None = Field(
        default=None, description="Indexed keys: the neighbours of each (itself left out)."
    )
    basket: list[Annotated[str, Field(strict=True)]] | None = Field(
        default=None, description="Indexed keys: items similar to the whole group."
    )
    k: Annotated[int, Field(strict=True, ge=1)] = 10
    combine: Literal["mean", "max"] = Field(
        default="mean", description="How a basket's items are combined."
    )


class AnomalyRequest(_Strict):
    """``POST /v1/anomaly``."""

    vectors: Vectors
    threshold: Annotated[float | None, Field(allow_inf_nan=False)] = Field(
        default=None, description="Flag above this score instead of the model's threshold."
    )


class ReconstructRequest(_Strict):
    """``POST /v1/reconstruct``."""

    vectors: Vectors


Req = TypeVar("Req", bound=BaseModel)


def parse_json(schema: type[Req], body: bytes) -> Req:
    """Validate a JSON body against ``schema``.

    Raises
    ------
    RequestError
        400 for a body that is not JSON, 422 for one that does not fit the schema; the
        message names the field and the row.
    """
    try:
        return schema.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] != "json_invalid":
            raise _schema_error(first) from None
    # The strict JSON parser refuses NaN and Infinity tokens, which Python's json module (and
    # so many clients) writes; read them leniently to report the row holding them.
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, "body", f"not valid JSON ({exc})") from None
    try:
        return schema.model_validate(data, strict=False)
    except ValidationError as exc:
        raise _schema_error(exc.errors(include_url=False)[0]) from None


def _schema_error(error: Any) -> RequestError:
    loc = [part for part in error["loc"] if part != "body"]
    field = str(loc[0]) if loc else "body"
    row = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    detail = error["msg"]
    if len(loc) > 2:
        detail = f"value {loc[2]}: {detail}"
    if error["type"] == "extra_forbidden":
        detail = "unknown field"
    elif error["type"] == "missing":
        detail = "required"
    return RequestError(422, field, detail, row)


def parse_npy(body: bytes) -> np.ndarray:
    """A 2-D float array from an ``.npy`` body (never unpickled).

    Raises
    ------
    RequestError
        A body that is not a 2-D numeric ``.npy`` array.
    """
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise RequestError(400, "body", f"not a valid .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.ndim != 2:
        raise RequestError(422, "vectors", "the .npy array must be 2-D (rows x features)")
    if array.dtype.kind not in "fiu":
        raise RequestError(422, "vectors", f"the .npy array has dtype {array.dtype}; need numbers")
    return np.ascontiguousarray(array, dtype=np.float32)


def check_rows(
    rows: list[list[float]] | np.ndarray, width: int, max_rows: int, field: str = "vectors"
) -> np.ndarray:
    """``rows`` as a float32 ``(n, width)`` array, or a :class:`RequestError` naming the row.

    Checks the row count against ``max_rows`` (413), each row's width and, for arrays that
    did not come through the JSON schema, finiteness.
    """
    n = len(rows)
    if n == 0:
        raise RequestError(422, field, "at least one row is needed")
    if n > max_rows:
        raise RequestError(
            413, field, f"{n} rows exceed this service's limit of {max_rows} rows per request"
        )
    if isinstance(rows, np.ndarray):
        if rows.shape[1] != width:
            raise RequestError(
                422, field, f"rows have {rows.shape[1]} values; the model expects {width}"
            )
        finite = np.isfinite(rows).all(axis=1)
        if not finite.all():
            raise RequestError(422, field, "NaN or Inf", int(np.flatnonzero(~finite)[0]))
        return rows
    for i, row in enumerate(rows):
        if len(row) != width:
            raise RequestError(422, field, f"has {len(row)} values; the model expects {width}", i)
    return np.asarray(rows, dtype=np.float32)
