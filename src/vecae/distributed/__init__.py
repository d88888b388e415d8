"""Encoding at scale: a directory of shards, one process or a Ray cluster; Ray Data datasets.

* :func:`encode_shards` encodes every ``.npy`` / ``.parquet`` shard of a directory into one
  output shard each (same name, same format, keys and row order kept), committing each shard
  atomically and recording input and output checksums in ``_vecae_encode.json``, so a rerun
  after a failure skips the shards already done. ``engine="local"`` runs in this process;
  ``engine="ray"`` hands one shard at a time to a pool of Ray actors, each of which loads the
  model once. ``vecae encode MODEL SHARDS/ -o OUT/ --engine ray`` calls it.
* :func:`encode_dataset` adds an encoding column to a ``ray.data.Dataset`` with
  ``map_batches`` and a callable class (one model load per actor), for pipelines that already
  live in Ray Data.

Both load the model with :func:`vecae.load` (safetensors, checksums verified, nothing
unpickled) from a path every worker can read, and encode with the model's own ``transform``,
so results are bit-identical to the single-process ``vecae encode``. Ray is the optional extra
``distributed``.
"""

from vecae.distributed._dataset import encode_dataset
from vecae.distributed._shards import MANIFEST_NAME, ShardReport, encode_shards

__all__ = ["MANIFEST_NAME", "ShardReport", "encode_dataset", "encode_shards"]
