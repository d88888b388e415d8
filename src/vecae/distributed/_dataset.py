"""Ray Data: add encodings to a dataset with ``map_batches`` and a callable class."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from vecae._exceptions import InputError, require

__all__ = ["BatchEncoder", "encode_dataset"]

PRECISIONS = ("float32", "float16", "int8", "binary")


class BatchEncoder:
    """The callable class ``map_batches`` instantiates once per actor (one model load each)."""

    def __init__(
        self,
        model_path: str,
        column: str,
        key_column: str | None,
        output_column: str,
        dim: int | None,
        precision: str,
        threads: int,
    ) -> None:
        import torch

        import vecae

        torch.set_num_threads(threads)
        self.model = vecae.load(model_path)
        self.column = column
        self.key_column = key_column
        self.output_column = output_column
        self.dim = dim
        self.precision = precision

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = batch[self.column]
        if vectors.dtype == object:  # variable-length list column: one array per row
            vectors = np.stack(list(vectors)) if len(vectors) else vectors
        X = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        if self.dim is None and self.precision == "float32":
            Z = self.model.transform(X)
        else:
            Z = self.model.encode(X, dim=self.dim, precision=self.precision)
        out = {self.output_column: Z}
        if self.key_column is not None:
            out[self.key_column] = batch[self.key_column]
        return out


def encode_dataset(
    ds: Any,
    model_path: str | os.PathLike[str],
    *,
    column: str = "vector",
    key_column: str | None = None,
    output_column: str = "encoding",
    batch_size: int = 8192,
    dim: int | None = None,
    precision: str = "float32",
    concurrency: int | tuple[int, int] = 1,
    threads_per_worker: int = 1,
) -> Any:
    """Encode the vectors of a ``ray.data.Dataset``; lazily, as Ray Data does.

    Parameters
    ----------
    ds : ray.data.Dataset
        Holds a column of vectors (a tensor column or a list column).
    model_path : path
        A saved vecae model directory that every Ray worker can read (a shared file system).
    column : str, default="vector"
        The input vector column.
    key_column : str, optional
        A column to carry over next to the encodings (row ids, words); order within a block
        is kept.
    output_column : str, default="encoding"
    batch_size : int, default=8192
        Rows per ``map_batches`` call.
    dim, precision
        As :meth:`vecae.Autoencoder.encode`; left at their defaults the model's ``transform``
        is used, so any model kind works.
    concurrency : int or (min, max), default=1
        Number of actors (each loads the model once).
    threads_per_worker : int, default=1
        Torch threads per actor; each actor reserves that many CPUs.

    Returns
    -------
    ray.data.Dataset
        Columns ``key_column`` (if given) and ``output_column``. Ray Data picks the batch
        boundaries, and a matmul kernel may round a row differently within a batch of another
        size, so encodings equal ``transform``'s to float32 rounding (a few ulp); for
        bit-identical output use :func:`encode_shards`, which keeps ``vecae encode``'s batches.

    Raises
    ------
    ModelFileError
        The model cannot be loaded here (checked once on the driver before any Ray work).
    InputError
        An unsupported ``precision``, or ``dim``/``precision`` on a model without ``encode``.

    Examples
    --------
    >>> import ray, numpy as np                                  # doctest: +SKIP
    >>> ds = ray.data.from_numpy(np.zeros((10, 50), "float32"))  # doctest: +SKIP
    >>> encode_dataset(ds, "glove-vae", column="data").take(1)   # doctest: +SKIP
    """
    require("ray", "distributed")
    import vecae

    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    model = vecae.load(model_path)  # one clear error here instead of one per actor
    if (dim is not None or precision != "float32") and not hasattr(model, "encode"):
        raise InputError(
            f"{model_path}: dim and precision are not supported by this model ({model.kind})"
        )
    return ds.map_batches(
        BatchEncoder,
        fn_constructor_kwargs={
            "model_path": str(model_path),
            "column": column,
            "key_column": key_column,
            "output_column": output_column,
            "dim": dim,
            "precision": precision,
            "threads": threads_per_worker,
        },
        batch_size=batch_size,
        batch_format="numpy",
        zero_copy_batch=True,  # the encoder only reads its batch: no defensive copy
        concurrency=concurrency,
        num_cpus=threads_per_worker,
    )
