"""Models and inputs as the commands need them: loaded, and checked against each other."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vecae import DimensionMismatchError, InputError
from vecae.cli._options import split_commas
from vecae.cli._output import Output

__all__ = [
    "check_width",
    "config_sha256",
    "encoded_batches",
    "has_fields",
    "index_model_differs",
    "is_table",
    "kind_name",
    "load_model",
    "read_categorical",
    "read_embeddings_for",
]


def is_table(path: Path) -> bool:
    """Whether ``path`` is a table of named columns (CSV/TSV/Parquet), by the format registry."""
    # Imported here: the registry imports the readers, which ``vecae --help`` does not need.
    from vecae.io._registry import table_suffixes

    return path.suffix.lower() in table_suffixes()


def load_model(model_dir: Path, threads: int | None = None) -> Any:
    """A saved model, or a saved :class:`vecae.AnomalyDetector` (by its manifest's format)."""
    import vecae
    from vecae import _artefact

    if _artefact.manifest_kind(model_dir) == _artefact.DETECTOR:
        detector = vecae.AnomalyDetector.load(model_dir)
        if threads is not None:
            detector.set_params(n_threads=threads)
            for member in detector.estimators_:
                member.set_params(n_threads=threads)
        return detector
    model = vecae.load(model_dir)
    if threads is not None:
        model.set_params(n_threads=threads)
    return model


def kind_name(model: Any) -> str:
    """The model's kind as ``vecae fit --model`` spells it."""
    return {"dense": "dense", "variational": "vae", "categorical": "categorical"}[model.kind]


def has_fields(model: Any) -> bool:
    """Whether a model was fitted on a table of categorical columns (not multi-hot rows)."""
    return model.kind == "categorical" and getattr(model, "categories_", None) is not None


def config_sha256(model_dir: Path) -> str:
    """The fingerprint an index records of the model it was built with."""
    digest = hashlib.sha256()
    with (model_dir / "config.json").open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def index_model_differs(index: Any, model_dir: Path) -> bool:
    """Whether the index records a model and ``model_dir`` holds another one."""
    recorded = (index.model_info or {}).get("config_sha256")
    config = model_dir / "config.json"
    return bool(recorded) and config.is_file() and config_sha256(model_dir) != recorded


def check_width(source: Path, dim: int, model: Any, model_dir: Path) -> None:
    expected = int(model.n_features_in_)
    if dim != expected:
        raise DimensionMismatchError(
            f"{source}: vectors have {dim} dimensions, but the model in {model_dir} expects "
            f"{expected}"
        )


def read_embeddings_for(
    model: Any, model_dir: Path, path: Path, fmt: str | None, out: Output
) -> Any:
    """All of ``path``'s embeddings, checked to be as wide as the model's inputs."""
    from vecae.io import read_embeddings

    with out.step(f"reading {path}"):
        emb = read_embeddings(path, fmt)
    check_width(path, emb.dim, model, model_dir)
    return emb


def encoded_batches(
    model: Any, model_dir: Path, path: Path, stream: Any
) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
    """``(keys, vectors, encodings)`` per batch.

    The width is checked once, on the first batch's data: a header that lies about the
    dimension is reported as such by the reader first, and readers keep every later batch as
    wide as the first. Duplicate keys are dropped by the stream. NaN/Inf is checked once per
    row: by the model's folded encoder when ``transform`` runs one (see :func:`_folds`), else
    by the stream's screen; the stream names a bad row by its line or row in the file.
    """
    checked = False

    def encode(vectors: np.ndarray) -> np.ndarray:
        nonlocal checked
        if not checked:
            check_width(path, int(vectors.shape[1]), model, model_dir)
            checked = True
        encodings: np.ndarray = model.transform(vectors)
        return encodings

    yield from stream.map_batches(encode, fn_checks_finite=_folds(model))


def _folds(model: Any) -> bool:
    """Whether ``model.transform`` of dense float32 rows runs the folded encoder.

    That encoder checks NaN/Inf on its first layer's output, at no cost, and raises
    :class:`~vecae._checks.NonFiniteRowError` with the row (``BaseAutoencoder._map_folded``);
    the reader's own screen, 13% of ``vecae encode``'s time, is then redundant. Otherwise
    (categorical models; dense ones with ``normalize=True`` or a large mean shift) the
    reader keeps screening.
    """
    folded = getattr(model, "_folded_encoder", None)
    if folded is None:
        return False
    # The choice depends on the model and on whether rows are sparse, never on their values.
    return folded(np.empty((0, int(model.n_features_in_)), dtype=np.float32)) is not None


def read_categorical(path: Path, key_column: str | None, columns: str | None) -> tuple[Any, Any]:
    """Rows for a categorical model: (X, keys) from a sparse .npz or a table of columns."""
    from vecae.io import detect_format, read_categorical_table, read_sparse

    if is_table(path):
        wanted = None if columns is None else split_commas(columns)
        table = read_categorical_table(path, columns=wanted, key_column=key_column)
        X = np.stack([table.columns[name] for name in table.columns], axis=1)
        return X, table.keys
    if detect_format(path) == "sparse-npz":
        matrix, keys = read_sparse(path)
        return matrix, keys
    raise InputError(
        f"{path}: --model categorical needs a sparse .npz of multi-hot rows or a CSV/TSV/Parquet "
        "table of categorical columns"
    )
