"""Encode one shard file into one output shard: the unit of work of every engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vecae._artefact import sha256_file
from vecae._exceptions import InputError

__all__ = ["encode_one_shard"]


def encode_one_shard(
    model: Any,
    source: Path,
    target: Path,
    *,
    batch_size: int = 8192,
    dim: int | None = None,
) -> tuple[int, str, str]:
    """Encode one shard into ``target`` (same format), atomically.

    Returns ``(rows, input sha256, output sha256)``. The input is hashed here, by whichever
    worker encodes the shard, rather than by the driver beforehand: on Ray the hashing then
    runs in parallel too (a fresh run hashes nothing on the driver).

    Batches are the rows ``[0, batch_size)``, ``[batch_size, 2 * batch_size)``, ... of the
    shard, as in the single-process ``vecae encode``, and each goes through the model's own
    ``transform``: the output is bit-identical to it.
    """
    from vecae.io import EmbeddingWriter, iter_embeddings
    from vecae.io._registry import FORMAT_REGISTRY

    input_digest = sha256_file(source)
    stream = iter_embeddings(source, batch_size=batch_size)
    out_format = FORMAT_REGISTRY[stream.format].stream_as or stream.format
    width = int(model.latent_dim if dim is None else dim)
    rows = 0
    with EmbeddingWriter(target, out_format, width, stream.has_keys, overwrite=True) as writer:
        for keys, vectors in stream:
            if vectors.shape[1] != model.n_features_in_:
                raise InputError(
                    f"{source}: vectors have {vectors.shape[1]} dimensions, but the model "
                    f"expects {model.n_features_in_}"
                )
            Z = model.transform(vectors) if dim is None else model.transform(vectors, dim=dim)
            writer.write(keys, Z)
            rows += len(Z)
    return rows, input_digest, sha256_file(target)
