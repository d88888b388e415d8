"""Nearest-neighbour search over encodings, backed by FAISS.

:class:`VectorIndex` maps string keys to vectors and answers "which keys are closest to
this vector / this key / these keys". It wraps three FAISS index families:

``"flat"``
    Exact brute-force search. The right choice up to a few hundred thousand vectors.
``"hnsw"``
    Graph-based approximate search (``IndexHNSWFlat``); fast queries, no training, more
    memory. Tuned with ``hnsw_m``, ``ef_construction`` and ``ef_search``.
``"ivf"``
    Inverted lists over k-means cells (``IndexIVFFlat``); trained on the vectors. Tuned with
    ``n_lists`` and ``n_probe``; probing every list is exact.

Each family can store its vectors at a lower ``precision`` (see :mod:`vecae._codeindex`):

``"float32"`` (default)
    The vectors themselves: 4 bytes per coordinate.
``"int8"``
    8-bit scalar-quantised codes (``IndexScalarQuantizer``), one byte per coordinate, with
    ``kind="flat"``.
``"binary"``
    Packed bits searched by Hamming distance (``IndexBinaryFlat``, or ``IndexBinaryHNSW``
    with ``kind="hnsw"``): the sign bits of the vectors, or codes given to :meth:`build`
    (a model's learned bits). ``metric="cosine"`` only.

With ``rescore="float32"`` or ``"int8"``, :meth:`~VectorIndex.build` also keeps copies of
the vectors at that precision, and ``search(..., rescore_multiplier=m)`` re-ranks ``k * m``
code candidates by their exact scores against the float query.

Scores are always "higher is more similar":

* ``metric="cosine"``: the cosine similarity, in ``[-1, 1]``. Vectors and queries are
  L2-normalised and searched with inner product.
* ``metric="l2"``: the *negative squared* Euclidean distance, ``-||q - x||²`` (so ``0`` is an
  exact match). Take ``sqrt(-score)`` for the distance.
* ``precision="binary"`` without rescoring: ``1 - 2 * hamming / bits``, the cosine of the ±1
  vectors the bits stand for. Rescored results carry the exact (or int8) cosine.

FAISS is the optional extra ``index`` (``pip install 'vecae[index]'``) and is imported only
when an index is built or loaded.

An index saved with :meth:`VectorIndex.save` is a directory holding ``index.faiss`` (written
by FAISS), ``keys.json``, ``rescore.npy`` (only with ``rescore``) and ``config.json``. Nothing
is ever unpickled on load, the SHA-256 of every data file is checked against ``config.json``
so that truncated or swapped files are reported rather than silently used, and code files'
headers and sizes are checked against it before FAISS allocates anything.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt

from vecae import _choices, _codeindex
from vecae._codeindex import PRECISIONS, RESCORE, IndexPrecision, Rescore
from vecae._exceptions import DimensionMismatchError, InputError, ModelFileError, require

__all__ = [
    "FORMAT_VERSION",
    "Combine",
    "IndexPrecision",
    "Kind",
    "Metric",
    "Neighbour",
    "Rescore",
    "VectorIndex",
]

Metric = _choices.Metric
Kind = _choices.IndexKind
Combine = Literal["mean", "max"]
Neighbour = tuple[str, float]
"""One search result: ``(key, score)``; higher scores are more similar."""

FORMAT_VERSION: Final = 3  # 2: the common artefact manifest; 3: precision and rescoring
_OLDEST_VERSION: Final = 2  # version 2 indexes are float32 indexes without rescoring
"""Version of the on-disk layout written by :meth:`VectorIndex.save`."""

_INDEX_FILE: Final = "index.faiss"
_KEYS_FILE: Final = "keys.json"
_CONFIG_FILE: Final = "config.json"
_RESCORE_FILE: Final = "rescore.npy"
_METRICS: Final = _choices.METRICS
_KINDS: Final = _choices.INDEX_KINDS
# Norms below this are treated as zero: a cosine against them is meaningless.
_ZERO_NORM: Final = 1e-12


def _vecae_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vecae")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def _faiss() -> Any:
    return require("faiss", "index")


def _as_matrix(values: npt.ArrayLike, *, source: str) -> npt.NDArray[np.float32]:
    """Validate ``values`` as a finite 2-D float32 C-contiguous matrix."""
    try:
        arr = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{source}: cannot be read as a float array ({exc})") from exc
    if arr.ndim != 2:
        raise InputError(f"{source}: expected a 2-D array (rows x dim), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise InputError(f"{source}: vectors have zero width")
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise InputError(f"{source}: row {row} contains NaN or infinity")
    return np.ascontiguousarray(arr)


def _normalise(
    arr: npt.NDArray[np.float32], *, source: str, keys: Sequence[str] | None = None
) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    zero = norms[:, 0] < _ZERO_NORM
    if zero.any():
        row = int(np.flatnonzero(zero)[0])
        name = f" (key {keys[row]!r})" if keys is not None else ""
        raise InputError(
            f"{source}: row {row}{name} is a zero vector, which has no cosine similarity"
        )
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


class VectorIndex:
    """A FAISS nearest-neighbour index over vectors identified by string keys.

    Create one with :meth:`build` or :meth:`load`; the constructor is internal.

    Examples
    --------
    >>> from vecae.datasets import load_glove
    >>> words, vectors = load_glove(2000)
    >>> index = VectorIndex.build(vectors, words, metric="cosine", kind="flat")
    >>> [key for key, _ in index.search_keys(["king"], k=3)[0]]
    ['prince', 'ii', 'son']
    >>> _ = index.save("glove-index")
    >>> len(VectorIndex.load("glove-index").similar_to_items(["paris", "london"], k=2)[0])
    2

    Sign bits of the vectors, 4x re-ranked against float32 copies:

    >>> bits = VectorIndex.build(vectors, words, precision="binary", rescore="float32")
    >>> bits.bytes_per_vector, bits.search(vectors[:1], k=3, rescore_multiplier=4)[0][0][0]
    (7, 'the')
    """

    def __init__(
        self,
        faiss_index: Any,
        keys: Sequence[str],
        *,
        metric: Metric,
        kind: Kind,
        params: Mapping[str, int | None],
        model_info: Mapping[str, Any] | None,
        dim: int,
        precision: IndexPrecision = "float32",
        codes: str | None = None,
        rescore_vectors: npt.NDArray[Any] | None = None,
        rescore_step: float = 1.0,
    ) -> None:
        self._index = faiss_index
        self._dim = int(dim)
        self._precision: IndexPrecision = precision
        # Binary codes: "sign" (the index binarises queries itself) or "given" (the caller's
        # codes, e.g. a model's learned bits; queries must come as codes too).
        self._codes = codes
        self._rescore_vectors = rescore_vectors
        self._rescore_step = float(rescore_step)
        self._keys: tuple[str, ...] = tuple(keys)
        self._positions: dict[str, int] = {key: i for i, key in enumerate(self._keys)}
        self._metric: Metric = metric
        self._kind: Kind = kind
        self._params: dict[str, int | None] = dict(params)
        self._model_info: dict[str, Any] | None = (
            None if model_info is None else json.loads(json.dumps(model_info))
        )
        self._apply_search_params()

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(
        cls,
        vectors: npt.ArrayLike,
        keys: Sequence[str],
        *,
        metric: Metric = "cosine",
        kind: Kind = "flat",
        hnsw_m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        n_lists: int | None = None,
        n_probe: int = 16,
        model_info: Mapping[str, Any] | None = None,
        random_state: int = 0,
        precision: IndexPrecision = "float32",
        rescore: Rescore | None = None,
        codes: npt.ArrayLike | None = None,
    ) -> VectorIndex:
        """Build an index over ``vectors``.

        Parameters
        ----------
        vectors : array_like of shape (n, dim)
            The encodings to index; converted to contiguous float32. Must be finite, and for
            ``metric="cosine"`` no row may be all zeros.
        keys : sequence of str
            One unique key per row of ``vectors``.
        metric : {"cosine", "l2"}
            Similarity used by every search. See the module docstring for the score scale.
        kind : {"flat", "hnsw", "ivf"}
            FAISS index family: exact, HNSW graph, or inverted lists.
        hnsw_m : int
            HNSW: neighbours per node (``M``). More is more accurate and uses more memory.
        ef_construction : int
            HNSW: candidate list size while building (``efConstruction``).
        ef_search : int
            HNSW: candidate list size while searching (``efSearch``); can be changed later
            through :attr:`ef_search`.
        n_lists : int, optional
            IVF: number of k-means cells (``nlist``). Defaults to ``round(4 * sqrt(n))``,
            capped at ``n``.
        n_probe : int
            IVF: cells visited per query (``nprobe``), capped at ``n_lists``; can be changed
            later through :attr:`n_probe`. ``n_probe == n_lists`` is exact search.
        model_info : mapping, optional
            JSON-serialisable description of the model that produced the vectors (for example
            its directory and a fingerprint). Stored with the index and returned by
            :attr:`model_info`, so a loaded index remembers where its encodings came from.
        random_state : int
            Seed of the IVF k-means clustering.
        precision : {"float32", "int8", "binary"}
            How the searched vectors are stored: as they are, as 8-bit scalar-quantised codes
            (``kind="flat"`` only), or as packed bits (``kind="flat"`` or ``"hnsw"``,
            ``metric="cosine"`` only). Bits are ``codes`` when given, else the sign bits of
            ``vectors`` (padded with zero bits to a whole byte).
        rescore : {"float32", "int8"} or None
            Also keep copies of the (unit, for cosine) vectors at this precision, so that
            ``search(..., rescore_multiplier=m)`` can re-rank candidates. int8 copies use one
            step for every coordinate. Only for ``precision="binary"``, or ``"int8"`` with
            ``rescore="float32"`` (int8 copies are coarser than an int8 index's own codes).
        codes : array_like of uint8, shape (n, bytes), optional
            ``precision="binary"`` only: packed bits to search instead of the sign bits, for
            example a model's learned bits, ``model.encode(X, precision="binary")``, with
            ``vectors = model.transform(X)``. Queries must then be given as codes too
            (``search(..., query_codes=...)``).

        Returns
        -------
        VectorIndex

        Raises
        ------
        InputError
            Malformed vectors, codes or keys, duplicate keys, zero vectors under cosine,
            unknown ``metric``/``kind``/``precision``/``rescore`` or a combination FAISS does
            not offer, non-positive knobs, or ``model_info`` that is not JSON.
        MissingDependencyError
            FAISS is not installed.
        """
        if metric not in _METRICS:
            raise InputError(f"metric: expected one of {_METRICS}, got {metric!r}")
        if kind not in _KINDS:
            raise InputError(f"kind: expected one of {_KINDS}, got {kind!r}")
        cls._check_precision(precision, rescore, kind=kind, metric=metric, codes=codes)
        arr = _as_matrix(vectors, source="vectors")
        key_list = cls._check_keys(keys, n_rows=arr.shape[0])
        if arr.shape[0] == 0:
            raise InputError("vectors: at least one vector is needed to build an index")
        if model_info is not None:
            try:
                json.dumps(model_info)
            except (TypeError, ValueError) as exc:
                raise InputError(f"model_info: must be JSON-serialisable ({exc})") from exc
        if metric == "cosine":
            arr = _normalise(arr, source="vectors", keys=key_list)

        n, dim = arr.shape
        params: dict[str, int | None] = {"random_state": int(random_state)}
        if precision != "float32":
            return cls._build_codes(
                arr,
                key_list,
                metric=metric,
                kind=kind,
                precision=precision,
                rescore=rescore,
                codes=codes,
                params=params,
                hnsw_m=hnsw_m,
                ef_construction=ef_construction,
                ef_search=ef_search,
                model_info=model_info,
            )
        faiss = _faiss()
        faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
        if kind == "flat":
            index = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
        elif kind == "hnsw":
            params["hnsw_m"] = _check_positive_int(hnsw_m, "hnsw_m")
            params["ef_construction"] = _check_positive_int(ef_construction, "ef_construction")
            params["ef_search"] = _check_positive_int(ef_search, "ef_search")
            index = faiss.IndexHNSWFlat(dim, params["hnsw_m"], faiss_metric)
            index.hnsw.efConstruction = params["ef_construction"]
        else:
            if n_lists is None:
                n_lists = max(1, round(4 * math.sqrt(n)))
            lists = min(_check_positive_int(n_lists, "n_lists"), n)
            params["n_lists"] = lists
            params["n_probe"] = min(_check_positive_int(n_probe, "n_probe"), lists)
            quantizer = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
            # FAISS's Python layer keeps ``quantizer`` alive as long as ``index`` is.
            index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss_metric)
            index.cp.seed = int(random_state)
            index.train(arr)
        index.add(arr)
        if kind == "ivf":
            # Lets search_keys() reconstruct stored vectors by id.
            index.make_direct_map()
        return cls(
            index, key_list, metric=metric, kind=kind, params=params, model_info=model_info, dim=dim
        )

    @staticmethod
    def _check_precision(
        precision: object, rescore: object, *, kind: str, metric: str, codes: object
    ) -> None:
        if precision not in PRECISIONS:
            raise InputError(f"precision: expected one of {PRECISIONS}, got {precision!r}")
        if rescore is not None and rescore not in RESCORE:
            raise InputError(f"rescore: expected one of {RESCORE} or None, got {rescore!r}")
        if precision == "float32" and rescore is not None:
            raise InputError("rescore: a float32 index is already exact; rescore needs codes")
        if codes is not None and precision != "binary":
            raise InputError("codes: only precision='binary' takes codes")
        if precision == "int8" and kind != "flat":
            raise InputError(f"kind: int8 codes are searched with kind='flat', not {kind!r}")
        if precision == "int8" and rescore == "int8":
            # Measured: re-ranking SQ8 candidates with the coarser copies lowered recall.
            raise InputError(
                "rescore: int8 copies (one step for every coordinate) are coarser than an int8 "
                "index's own codes (one range per coordinate); rescore it with 'float32'"
            )
        if precision == "binary":
            if kind not in ("flat", "hnsw"):
                raise InputError(f"kind: binary codes take kind='flat' or 'hnsw', not {kind!r}")
            if metric != "cosine":
                raise InputError("metric: binary codes approximate cosine; use metric='cosine'")

    @classmethod
    def _build_codes(
        cls,
        arr: npt.NDArray[np.float32],
        keys: list[str],
        *,
        metric: Metric,
        kind: Kind,
        precision: IndexPrecision,
        rescore: Rescore | None,
        codes: npt.ArrayLike | None,
        params: dict[str, int | None],
        hnsw_m: int,
        ef_construction: int,
        ef_search: int,
        model_info: Mapping[str, Any] | None,
    ) -> VectorIndex:
        """An int8 or binary index over ``arr`` (already unit rows for cosine)."""
        faiss = _faiss()
        n, dim = arr.shape
        source: str | None = None
        if precision == "int8":
            faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
            index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss_metric)
            index.train(arr)
            index.add(arr)
        else:
            if codes is None:
                packed = _codeindex.sign_bits(arr)
                params["bits"] = dim
                source = "sign"
            else:
                packed = np.asarray(codes)
                if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] == 0:
                    raise InputError(
                        "codes: expected packed bits, a 2-D uint8 array (numpy.packbits), got "
                        f"{packed.dtype} of shape {packed.shape}"
                    )
                if packed.shape[0] != n:
                    raise InputError(f"codes: {packed.shape[0]} rows for {n} vectors")
                params["bits"] = 8 * packed.shape[1]
                source = "given"
            if kind == "flat":
                index = faiss.IndexBinaryFlat(8 * packed.shape[1])
            else:
                params["hnsw_m"] = _check_positive_int(hnsw_m, "hnsw_m")
                params["ef_construction"] = _check_positive_int(ef_construction, "ef_construction")
                params["ef_search"] = _check_positive_int(ef_search, "ef_search")
                index = faiss.IndexBinaryHNSW(8 * packed.shape[1], params["hnsw_m"])
                index.hnsw.efConstruction = params["ef_construction"]
            index.add(np.ascontiguousarray(packed))
        stored: npt.NDArray[Any] | None = None
        step = 1.0
        if rescore == "float32":
            stored = arr
        elif rescore == "int8":
            stored, step = _codeindex.int8_rescore_vectors(arr)
        return cls(
            index,
            keys,
            metric=metric,
            kind=kind,
            params=params,
            model_info=model_info,
            dim=dim,
            precision=precision,
            codes=source,
            rescore_vectors=stored,
            rescore_step=step,
        )

    @staticmethod
    def _check_keys(keys: Sequence[str], *, n_rows: int) -> list[str]:
        if isinstance(keys, str):
            raise InputError("keys: expected a sequence of strings, got a single string")
        key_list = list(keys)
        if len(key_list) != n_rows:
            raise InputError(
                f"keys: {len(key_list)} keys given for {n_rows} vectors; need one key per row"
            )
        seen: dict[str, int] = {}
        for row, key in enumerate(key_list):
            if not isinstance(key, str):
                raise InputError(f"keys: row {row} is {type(key).__name__}, expected str")
            if key in seen:
                raise InputError(f"keys: duplicate key {key!r} at rows {seen[key]} and {row}")
            seen[key] = row
        return key_list

    # ------------------------------------------------------------------ properties

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys, in row order (row ``i`` of the built vectors has key ``keys[i]``)."""
        return self._keys

    @property
    def dim(self) -> int:
        """Width of the indexed vectors (of float queries; binary codes have their own)."""
        return self._dim

    @property
    def precision(self) -> IndexPrecision:
        """``"float32"``, ``"int8"`` or ``"binary"``: how the searched vectors are stored."""
        return self._precision

    @property
    def code_source(self) -> str | None:
        """Binary indexes: ``"sign"`` (sign bits of the vectors) or ``"given"`` (codes given to
        :meth:`build`, such as a model's learned bits); ``None`` for other precisions."""
        return self._codes

    @property
    def rescore(self) -> Rescore | None:
        """Precision of the rescoring copies (``"float32"``/``"int8"``), or ``None``."""
        if self._rescore_vectors is None:
            return None
        return "int8" if self._rescore_vectors.dtype == np.int8 else "float32"

    @property
    def code_bytes(self) -> int | None:
        """Bytes per packed code of a binary index (``None`` for other precisions)."""
        return int(self._index.code_size) if self._precision == "binary" else None

    @property
    def bytes_per_vector(self) -> int:
        """Bytes one vector takes in the search structure (codes only, before FAISS's graph or
        list overhead and without the rescoring copies; see :attr:`rescore_bytes_per_vector`)."""
        bits = int(self._params.get("bits") or 0)
        return _codeindex.bytes_per_code(self._precision, self._dim, bits)

    @property
    def rescore_bytes_per_vector(self) -> int:
        """Bytes per vector of the rescoring copies (0 without rescoring)."""
        if self._rescore_vectors is None:
            return 0
        return int(self._rescore_vectors.itemsize) * self._dim

    @property
    def metric(self) -> Metric:
        """``"cosine"`` or ``"l2"``."""
        return self._metric

    @property
    def kind(self) -> Kind:
        """``"flat"``, ``"hnsw"`` or ``"ivf"``."""
        return self._kind

    @property
    def model_info(self) -> dict[str, Any] | None:
        """A copy of the ``model_info`` given to :meth:`build` (``None`` if none was)."""
        return None if self._model_info is None else json.loads(json.dumps(self._model_info))

    @property
    def params(self) -> dict[str, int | None]:
        """The FAISS knobs in force (``hnsw_m``, ``ef_search``, ``n_lists``, ...)."""
        return dict(self._params)

    @property
    def ef_search(self) -> int | None:
        """HNSW ``efSearch``; ``None`` for other kinds. Settable to trade speed for recall."""
        return self._params.get("ef_search")

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if self._kind != "hnsw":
            raise InputError(f"ef_search: only HNSW indexes have it, this one is {self._kind!r}")
        self._params["ef_search"] = _check_positive_int(value, "ef_search")
        self._apply_search_params()

    @property
    def n_probe(self) -> int | None:
        """IVF ``nprobe``; ``None`` for other kinds. Settable; capped at ``n_lists``."""
        return self._params.get("n_probe")

    @n_probe.setter
    def n_probe(self, value: int) -> None:
        if self._kind != "ivf":
            raise InputError(f"n_probe: only IVF indexes have it, this one is {self._kind!r}")
        lists = cast(int, self._params["n_lists"])
        self._params["n_probe"] = min(_check_positive_int(value, "n_probe"), lists)
        self._apply_search_params()

    def _apply_search_params(self) -> None:
        if self._kind == "hnsw":
            self._index.hnsw.efSearch = int(cast(int, self._params["ef_search"]))
        elif self._kind == "ivf":
            self._index.nprobe = int(cast(int, self._params["n_probe"]))

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    def __repr__(self) -> str:
        codes = "" if self._precision == "float32" else f", precision={self._precision!r}"
        if self._rescore_vectors is not None:
            codes += f", rescore={self.rescore!r}"
        return (
            f"VectorIndex(n={len(self)}, dim={self.dim}, metric={self._metric!r}, "
            f"kind={self._kind!r}{codes})"
        )

    # ------------------------------------------------------------------ search

    def search(
        self,
        queries: npt.ArrayLike,
        k: int = 10,
        *,
        exclude: Collection[str] | Sequence[Collection[str]] | None = None,
        rescore_multiplier: int = 1,
        query_codes: npt.ArrayLike | None = None,
    ) -> list[list[Neighbour]]:
        """Find the ``k`` most similar indexed keys for each query vector.

        Parameters
        ----------
        queries : array_like of shape (n_queries, dim) or (dim,)
            Query vectors (a single vector is treated as one query), always float: an int8
            index compares them with its codes as they are, a binary index of sign bits
            takes their sign bits.
        k : int
            Number of neighbours per query; capped at ``len(self)``.
        exclude : collection of str, or sequence of collections of str, optional
            Keys never to return. A flat collection of strings applies to every query; a
            sequence with one collection per query applies to that query only. Unknown keys
            in it are ignored.
        rescore_multiplier : int, default=1
            ``m > 1`` fetches ``k * m`` candidates with the codes and re-ranks them by their
            exact scores against the rescoring copies (an index built with ``rescore``).
        query_codes : array_like of uint8, shape (n_queries, code_bytes), optional
            Binary indexes: the queries' packed bits, encoded like the indexed codes (for
            codes given to :meth:`build`, e.g. ``model.encode(Q, precision="binary")``).
            Required for such an index; by default a sign-bit index binarises ``queries``.

        Returns
        -------
        list of list of (str, float)
            Per query, ``(key, score)`` pairs by decreasing score: cosine similarity for
            ``metric="cosine"``, negative squared L2 distance for ``metric="l2"``, the
            Hamming cosine ``1 - 2 * hamming / bits`` for unrescored binary codes. A list
            may be shorter than ``k`` when exclusions or an approximate index leave fewer.

        Raises
        ------
        InputError
            Non-finite queries, a zero query under cosine, bad ``k``, ``exclude``,
            ``rescore_multiplier`` (or one > 1 on an index without rescoring copies), or
            missing or malformed ``query_codes``.
        DimensionMismatchError
            Queries (or query codes) whose width differs from the index's.
        """
        try:
            arr = np.asarray(queries, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputError(f"queries: cannot be read as a float array ({exc})") from exc
        if arr.ndim == 1:
            arr = arr[None, :]
        q = self._prepare_queries(arr, source="queries")
        codes = self._query_codes(q, query_codes)
        excluded = self._exclusion_ids(exclude, n_queries=q.shape[0])
        multiplier = self._check_multiplier(rescore_multiplier)
        return self._search_ids(q, _check_positive_int(k, "k"), excluded, codes, multiplier)

    def search_keys(
        self, keys: Sequence[str], k: int = 10, *, rescore_multiplier: int = 1
    ) -> list[list[Neighbour]]:
        """Find the neighbours of items that are already in the index.

        Parameters
        ----------
        keys : sequence of str
            Keys of indexed items. Each item itself is left out of its own results (other
            keys with an identical vector are kept).
        k : int
            Number of neighbours per key.
        rescore_multiplier : int, default=1
            As in :meth:`search`; the items' rescoring copies are the float queries.

        Returns
        -------
        list of list of (str, float)
            One result list per key, as in :meth:`search`.

        Raises
        ------
        InputError
            A key that is not in the index; the message names it and suggests close matches.
        """
        if isinstance(keys, str):
            keys = [keys]
        ids = [self._position(key) for key in keys]
        multiplier = self._check_multiplier(rescore_multiplier)
        q, codes = self._stored_queries(ids)
        return self._search_ids(
            q, _check_positive_int(k, "k"), [{i} for i in ids], codes, multiplier
        )

    def similar_to_items(
        self,
        keys: Sequence[str],
        k: int = 10,
        *,
        combine: Combine = "mean",
        rescore_multiplier: int = 1,
    ) -> list[Neighbour]:
        """Recommend keys similar to a group of items ("more like these").

        Parameters
        ----------
        keys : sequence of str
            Indexed items describing the taste; duplicates are ignored. They never appear in
            the results.
        k : int
            Number of results.
        combine : {"mean", "max"}
            ``"mean"`` searches once with the centroid of the items (for cosine, the mean of
            their unit vectors, re-normalised; for binary codes, the majority bit); ``"max"``
            searches with every item and scores a candidate by its best similarity to any of
            them, which keeps niche interests.
        rescore_multiplier : int, default=1
            As in :meth:`search`.

        Returns
        -------
        list of (str, float)
            Up to ``k`` ``(key, score)`` pairs by decreasing score.

        Raises
        ------
        InputError
            No keys, an unknown key, an unknown ``combine``, or (cosine, ``"mean"``) item
            vectors that cancel out to zero.
        """
        if isinstance(keys, str):
            keys = [keys]
        if combine not in ("mean", "max"):
            raise InputError(f"combine: expected 'mean' or 'max', got {combine!r}")
        ids = list(dict.fromkeys(self._position(key) for key in keys))
        if not ids:
            raise InputError("keys: at least one item key is needed")
        k = _check_positive_int(k, "k")
        multiplier = self._check_multiplier(rescore_multiplier)
        own = set(ids)
        stored, codes = self._stored_queries(ids)
        if combine == "mean":
            centroid = None
            if stored is not None:
                centroid = stored.mean(axis=0, keepdims=True)
                if self._metric == "cosine":
                    centroid = _normalise(centroid, source="keys (their mean vector)")
            majority = None
            if codes is not None:
                ones = np.unpackbits(codes, axis=1).mean(axis=0) > 0.5
                majority = np.packbits(ones[None, :], axis=1)
            return self._search_ids(centroid, k, [own], majority, multiplier)[0]
        # Per-item searches deep enough that excluding the query items still leaves k each;
        # the best k by maximum score is then exact for an exact index.
        per_item = self._search_ids(stored, k, [own] * len(ids), codes, multiplier)
        best: dict[str, float] = {}
        for results in per_item:
            for key, score in results:
                if score > best.get(key, -math.inf):
                    best[key] = score
        ranked = sorted(best.items(), key=lambda item: (-item[1], self._positions[item[0]]))
        return ranked[:k]

    # ------------------------------------------------------------------ search helpers

    def _position(self, key: str) -> int:
        try:
            return self._positions[key]
        except (KeyError, TypeError):
            pass
        hint = ""
        if isinstance(key, str):
            close = difflib.get_close_matches(key, self._keys, n=3, cutoff=0.75)
            if close:
                hint = "; did you mean " + ", ".join(repr(c) for c in close) + "?"
        raise InputError(f"keys: {key!r} is not in the index{hint}")

    def _check_multiplier(self, value: object) -> int:
        multiplier = _check_positive_int(value, "rescore_multiplier")
        if multiplier > 1 and self._rescore_vectors is None:
            raise InputError(
                "rescore_multiplier: this index keeps no rescoring copies; build it with "
                "rescore='float32' or 'int8' (vecae index build --rescore)"
            )
        return multiplier

    def _stored_queries(
        self, ids: Sequence[int]
    ) -> tuple[npt.NDArray[np.float32] | None, npt.NDArray[np.uint8] | None]:
        """Float vectors (where the index can give them) and codes (binary) of stored rows."""
        floats: npt.NDArray[np.float32] | None = None
        if self._rescore_vectors is not None:
            floats = self._rescore_vectors[list(ids)].astype(np.float32)
            if self._rescore_vectors.dtype == np.int8:
                floats *= np.float32(self._rescore_step)
        elif self._precision != "binary":
            # Vectors come back as stored: unit length for cosine (int8: decoded codes).
            floats = np.empty((len(ids), self.dim), dtype=np.float32)
            for row, i in enumerate(ids):
                floats[row] = self._index.reconstruct(int(i))
        codes: npt.NDArray[np.uint8] | None = None
        if self._precision == "binary":
            codes = np.empty((len(ids), int(self._index.code_size)), dtype=np.uint8)
            for row, i in enumerate(ids):
                codes[row] = self._index.reconstruct(int(i))
        return floats, codes

    def _query_codes(
        self, q: npt.NDArray[np.float32], query_codes: npt.ArrayLike | None
    ) -> npt.NDArray[np.uint8] | None:
        if self._precision != "binary":
            if query_codes is not None:
                raise InputError("query_codes: only binary indexes are searched with codes")
            return None
        if query_codes is None:
            if self._codes == "given":
                raise InputError(
                    "query_codes: this index holds codes given to build() (such as a model's "
                    "learned bits); pass the queries' codes, encoded the same way"
                )
            return _codeindex.sign_bits(q)
        codes = np.asarray(query_codes)
        if codes.ndim == 1:
            codes = codes[None, :]
        if codes.dtype != np.uint8 or codes.ndim != 2:
            raise InputError(f"query_codes: expected packed uint8 bits, got {codes.dtype}")
        if codes.shape[1] != self._index.code_size:
            raise DimensionMismatchError(
                f"query_codes: {codes.shape[1]} bytes per code, the index holds "
                f"{self._index.code_size}"
            )
        if codes.shape[0] != q.shape[0]:
            raise InputError(f"query_codes: {codes.shape[0]} codes for {q.shape[0]} queries")
        return np.ascontiguousarray(codes)

    def _prepare_queries(self, arr: npt.ArrayLike, *, source: str) -> npt.NDArray[np.float32]:
        q = _as_matrix(arr, source=source)
        if q.shape[1] != self.dim:
            raise DimensionMismatchError(
                f"{source}: vectors have width {q.shape[1]}, the index holds width {self.dim}"
            )
        if self._metric == "cosine":
            q = _normalise(q, source=source)
        return q

    def _exclusion_ids(
        self,
        exclude: Collection[str] | Sequence[Collection[str]] | None,
        *,
        n_queries: int,
    ) -> list[set[int]]:
        if exclude is None:
            return [set()] * n_queries
        if isinstance(exclude, str):
            raise InputError("exclude: expected a collection of keys, got a single string")
        items = list(exclude)

        def to_ids(group: Iterable[str]) -> set[int]:
            return {self._positions[key] for key in group if key in self._positions}

        if all(isinstance(item, str) for item in items):
            shared = to_ids(cast(list[str], items))
            return [shared] * n_queries
        if len(items) != n_queries:
            raise InputError(f"exclude: {len(items)} per-query collections for {n_queries} queries")
        groups: list[set[int]] = []
        for row, group in enumerate(items):
            if isinstance(group, str) or not isinstance(group, Iterable):
                raise InputError(
                    f"exclude: entry {row} must be a collection of keys, got {group!r}"
                )
            groups.append(to_ids(group))
        return groups

    def _search_ids(
        self,
        q: npt.NDArray[np.float32] | None,
        k: int,
        excluded: Sequence[set[int]],
        codes: npt.NDArray[np.uint8] | None = None,
        multiplier: int = 1,
    ) -> list[list[Neighbour]]:
        n = len(self)
        # Over-fetch by the largest exclusion so that filtering still leaves k results.
        depth = min(n, k * multiplier + max((len(group) for group in excluded), default=0))
        if self._precision == "binary":
            assert codes is not None
            distances, ids = self._index.search(codes, depth)
            bits = int(cast(int, self._params["bits"]))
            scores = 1.0 - 2.0 * distances.astype(np.float32) / bits
        else:
            assert q is not None
            scores, ids = self._index.search(np.ascontiguousarray(q, dtype=np.float32), depth)
            if self._metric == "l2":
                scores = -scores  # FAISS returns squared distances; we report similarities
        if multiplier > 1:
            assert q is not None and self._rescore_vectors is not None
            # The excluded ids are dropped first, so the k * m candidates are all eligible.
            ids = ids.copy()
            for row_ids, skip in zip(ids, excluded, strict=True):
                if skip:
                    row_ids[np.isin(row_ids, list(skip))] = -1
            scores, ids = _codeindex.rescored(
                q, ids, self._rescore_vectors, self._rescore_step, metric=self._metric
            )
        results: list[list[Neighbour]] = []
        for row_scores, row_ids, skip in zip(scores, ids, excluded, strict=True):
            row: list[Neighbour] = []
            for score, i in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
                # -1 marks "no result" in approximate indexes that found fewer than depth.
                if i < 0 or i in skip:
                    continue
                row.append((self._keys[i], float(score)))
                if len(row) == k:
                    break
            results.append(row)
        return results

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the index to ``directory`` as one atomic artefact.

        ``index.faiss``, ``keys.json`` and, with rescoring copies, ``rescore.npy`` are
        written into a staging directory, then
        ``config.json`` (the manifest, with their SHA-256), and the directory appears under its
        name in one rename (:mod:`vecae._artefact`).

        Parameters
        ----------
        directory : str or path-like
            Target directory.
        overwrite : bool, default=False
            Replace an existing *index* directory. Anything else at ``directory`` is refused.

        Returns
        -------
        Path
            The absolute path written.

        Raises
        ------
        OutputExistsError
            ``directory`` exists (without ``overwrite``), is not a vecae index, or is being
            written by another process.
        ModelFileError
            A file cannot be written.
        """
        from vecae import _artefact

        faiss = _faiss()
        with _artefact.write_directory(directory, _artefact.INDEX, overwrite=overwrite) as staging:
            index_path = staging / _INDEX_FILE
            files = [_INDEX_FILE, _KEYS_FILE]
            try:
                if self._precision == "binary":
                    faiss.write_index_binary(self._index, str(index_path))
                else:
                    faiss.write_index(self._index, str(index_path))
                (staging / _KEYS_FILE).write_bytes(
                    json.dumps(list(self._keys), ensure_ascii=False).encode("utf-8")
                )
                if self._rescore_vectors is not None:
                    with (staging / _RESCORE_FILE).open("wb") as handle:
                        np.save(handle, self._rescore_vectors, allow_pickle=False)
                    files.append(_RESCORE_FILE)
            except (OSError, RuntimeError) as exc:
                raise ModelFileError(f"{directory}: cannot write the index files ({exc})") from exc
            config = {
                "format": _artefact.INDEX,
                "format_version": FORMAT_VERSION,
                "vecae_version": _vecae_version(),
                "metric": self._metric,
                "kind": self._kind,
                "params": self._params,
                "n": len(self),
                "dim": self.dim,
                "model_info": self._model_info,
                "precision": self._precision,
                "codes": self._codes,
                "rescore": self.rescore,
                "rescore_step": self._rescore_step,
            }
            _artefact.write_manifest(staging, config, files=files)
        return Path(os.path.abspath(os.path.expanduser(os.fspath(directory))))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> VectorIndex:
        """Read an index written by :meth:`save`.

        Parameters
        ----------
        directory : str or path-like
            A directory written by :meth:`save`.

        Returns
        -------
        VectorIndex
            With the same keys, knobs and ``model_info`` as the saved one.

        Raises
        ------
        ModelFileError
            The directory or one of its files is missing, unreadable, truncated, altered
            (checksum mismatch) or inconsistent; the message names the file.
        MissingDependencyError
            FAISS is not installed.
        """
        from vecae import _artefact

        return _artefact.read_with_retry(directory, cls._load)

    @classmethod
    def _load(cls, root: Path) -> VectorIndex:
        from vecae import _artefact

        faiss = _faiss()
        config = cls._read_config(root)
        config_path = root / _CONFIG_FILE
        keys_path = _artefact.checked_file(root, _KEYS_FILE, config)
        index_path = _artefact.checked_file(root, _INDEX_FILE, config)

        try:
            keys = json.loads(keys_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{keys_path}: not a readable JSON list of keys ({exc})") from exc
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise ModelFileError(f"{keys_path}: expected a JSON list of strings")
        if len(keys) != config["n"] or len(set(keys)) != len(keys):
            raise ModelFileError(
                f"{keys_path}: expected {config['n']} distinct keys, found {len(keys)} "
                f"({len(set(keys))} distinct)"
            )

        precision = config["precision"]
        bits = config["params"].get("bits") or 0
        code_bytes = _codeindex.bytes_per_code(precision, config["dim"], bits)
        if precision != "float32" or config["kind"] == "flat":
            _codeindex.check_code_file(
                index_path,
                precision,
                config["kind"],
                n=config["n"],
                dim=config["dim"],
                code_bytes=code_bytes,
                metric=config["metric"],
            )
        try:
            if precision == "binary":
                index = faiss.read_index_binary(str(index_path))
            else:
                index = faiss.read_index(str(index_path))
        except (RuntimeError, OSError) as exc:
            raise ModelFileError(f"{index_path}: not a readable FAISS index ({exc})") from exc
        expected_type = {
            ("float32", "flat"): faiss.IndexFlat,
            ("float32", "hnsw"): faiss.IndexHNSWFlat,
            ("float32", "ivf"): faiss.IndexIVFFlat,
            ("int8", "flat"): faiss.IndexScalarQuantizer,
            ("binary", "flat"): faiss.IndexBinaryFlat,
            ("binary", "hnsw"): faiss.IndexBinaryHNSW,
        }[precision, config["kind"]]
        expected_metric = (
            faiss.METRIC_INNER_PRODUCT if config["metric"] == "cosine" else faiss.METRIC_L2
        )
        width = 8 * code_bytes if precision == "binary" else config["dim"]
        if (
            not isinstance(index, expected_type)
            or (precision != "binary" and index.metric_type != expected_metric)
            or index.ntotal != config["n"]
            or index.d != width
        ):
            raise ModelFileError(
                f"{index_path}: holds {type(index).__name__} with {index.ntotal} x {index.d} "
                f"vectors, but {config_path.name} describes a {config['kind']} "
                f"{config['metric']} index of {config['n']} x {config['dim']}"
            )
        rescore_vectors = None
        if config["rescore"] is not None:
            rescore_vectors = _codeindex.read_rescore_file(
                _artefact.checked_file(root, _RESCORE_FILE, config),
                n=config["n"],
                dim=config["dim"],
                dtype=config["rescore"],
            )
        return cls(
            index,
            keys,
            metric=config["metric"],
            kind=config["kind"],
            params=config["params"],
            model_info=config["model_info"],
            dim=config["dim"],
            precision=precision,
            codes=config["codes"],
            rescore_vectors=rescore_vectors,
            rescore_step=config["rescore_step"],
        )

    @staticmethod
    def _read_config(root: Path) -> dict[str, Any]:
        from vecae import _artefact

        path = root / _CONFIG_FILE
        config = _artefact.read_manifest(
            root, _artefact.INDEX, version=FORMAT_VERSION, oldest=_OLDEST_VERSION
        )
        # Version 2 predates codes: every such index is float32 without rescoring copies.
        for field, default in (
            ("precision", "float32"),
            ("codes", None),
            ("rescore", None),
            ("rescore_step", 1.0),
        ):
            config.setdefault(field, default)
        required: dict[str, type | tuple[type, ...]] = {
            "metric": str,
            "kind": str,
            "params": dict,
            "n": int,
            "dim": int,
            "model_info": (dict, type(None)),
        }
        for field, expected in required.items():
            if not isinstance(config.get(field, ...), expected):
                raise ModelFileError(f"{path}: field {field!r} is missing or has the wrong type")
        if config["metric"] not in _METRICS or config["kind"] not in _KINDS:
            raise ModelFileError(
                f"{path}: unknown metric {config['metric']!r} or kind {config['kind']!r}"
            )
        step = config["rescore_step"]
        if (
            config["precision"] not in PRECISIONS
            or (config["precision"] == "int8" and config["kind"] != "flat")
            or (config["precision"] == "binary" and config["kind"] == "ivf")
            or config["rescore"] not in (*RESCORE, None)
            or (config["precision"] == "float32" and config["rescore"] is not None)
            or config["codes"] not in ("sign", "given", None)
            or isinstance(step, bool)
            or not isinstance(step, int | float)
            or not (math.isfinite(step) and step > 0)
        ):
            raise ModelFileError(
                f"{path}: unknown precision {config['precision']!r} for a {config['kind']} "
                f"index, rescore {config['rescore']!r}, codes {config['codes']!r} or "
                f"rescore_step {step!r}"
            )
        params = config["params"]
        if not all(isinstance(v, int) or v is None for v in params.values()):
            raise ModelFileError(f"{path}: field 'params' must map names to integers")
        knobs: dict[str, tuple[str, ...]] = {
            "hnsw": ("ef_search",),
            "ivf": ("n_lists", "n_probe"),
            "flat": (),
        }
        needed = knobs[config["kind"]] + (("bits",) if config["precision"] == "binary" else ())
        for knob in needed:
            if not isinstance(params.get(knob), int) or params[knob] < 1:
                raise ModelFileError(f"{path}: params.{knob} is missing or not positive")
        return config
