"""Read and write embeddings in the formats users already have.

Formats (:data:`FORMATS`): word2vec text and binary, GloVe text, fastText ``.vec``, NumPy
``.npy``/``.npz``, Parquet (a list column, or one numeric column per dimension), CSV/TSV and
scipy sparse ``.npz``; and, for reading, a key-less ``.npy`` with its keys in a text file
(``keys_file=``, :data:`READ_FORMATS`). Each is one entry of the format registry
(``vecae/io/_registry.py``), which detection, the readers, the writers and the command line
all read. Every bad input raises
:class:`~vecae._exceptions.InputError` with a one-line message naming the file, the line or
row, and the problem. Every write is atomic.

The word2vec family (word2vec text/binary, GloVe, fastText ``.vec``) is read whole with
gensim's ``KeyedVectors.load_word2vec_format`` and written with ``save_word2vec_format``
(batch by batch). Streaming reads (:func:`iter_embeddings`) use vecae's own line reader,
because gensim has no streaming API and encoding a large file must run in constant memory;
the same reader names the line or row whenever gensim rejects a file or lets a problem
through (see ``vecae/io/_gensim.py`` and ``vecae/io/_text.py``).

Parquet (pyarrow) and gensim are the optional extra ``io``; they are imported only when
used, so ``import vecae.io`` works without them.

Examples
--------
>>> import numpy as np
>>> from vecae.io import detect_format, iter_embeddings, read_embeddings, write_embeddings
>>> write_embeddings("words.csv", np.eye(3, dtype=np.float32), ["a", "b", "c"])
>>> detect_format("words.csv")
'csv'
>>> emb = read_embeddings("words.csv")
>>> emb.keys, emb.dim
(['a', 'b', 'c'], 3)
>>> [keys for keys, vectors in iter_embeddings("words.csv", batch_size=2)]
[['a', 'b'], ['c']]
"""

from __future__ import annotations

from vecae.io._api import (
    Embeddings,
    EmbeddingStream,
    EmbeddingWriter,
    iter_embeddings,
    read_embeddings,
    read_sparse,
    write_embeddings,
)
from vecae.io._errors import DuplicateKeyWarning, OutputExistsError
from vecae.io._formats import FORMATS, READ_FORMATS, detect_format
from vecae.io._tables import (
    CategoricalTable,
    Interactions,
    read_categorical_table,
    read_interactions,
)

__all__ = [
    "FORMATS",
    "READ_FORMATS",
    "CategoricalTable",
    "DuplicateKeyWarning",
    "EmbeddingStream",
    "EmbeddingWriter",
    "Embeddings",
    "Interactions",
    "OutputExistsError",
    "detect_format",
    "iter_embeddings",
    "read_categorical_table",
    "read_embeddings",
    "read_interactions",
    "read_sparse",
    "write_embeddings",
]
