"""Word-similarity benchmarks and user pair files.

The bundled sets live in ``vecae/data/word-sim`` (see the README there for sources
and licences) and are read with :mod:`importlib.resources`, so they work from a wheel.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vecae._exceptions import InputError
from vecae.evaluate._metrics import as_matrix, spearman_similarity

__all__ = [
    "DEFAULT_WORDSIM_SETS",
    "WORDSIM_SETS",
    "PairSet",
    "SimilarityResult",
    "WordSimResults",
    "evaluate_pairs",
    "evaluate_word_similarity",
    "load_key_pairs",
    "load_word_pairs",
    "load_wordsim",
]

WORDSIM_SETS: tuple[str, ...] = (
    "EN-WS-353-ALL",
    "EN-WS-353-SIM",
    "EN-WS-353-REL",
    "EN-SIMLEX-999",
    "EN-MEN-TR-3k",
    "EN-RW-STANFORD",
    "EN-SimVerb-3500",
    "EN-MTurk-771",
    "EN-RG-65",
)
"""Names of the bundled word-similarity sets."""

DEFAULT_WORDSIM_SETS: tuple[str, ...] = (
    "EN-WS-353-ALL",
    "EN-SIMLEX-999",
    "EN-MEN-TR-3k",
    "EN-RW-STANFORD",
    "EN-SimVerb-3500",
    "EN-MTurk-771",
)
"""The sets whose mean rho is the headline word-similarity number."""


@dataclass(frozen=True)
class PairSet:
    """Scored pairs of keys (words or sentence ids).

    Attributes
    ----------
    name : str
        Shown in reports.
    left, right : tuple of str
        The two keys of each pair.
    gold : ndarray of float64
        Human similarity score of each pair.

    Examples
    --------
    >>> import numpy as np
    >>> pairs = PairSet("toy", ("cat", "car"), ("dog", "bus"), np.array([8.0, 6.5]))
    >>> len(pairs), pairs.left
    (2, ('cat', 'car'))
    """

    name: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    gold: NDArray[np.float64] = field(repr=False)

    def __len__(self) -> int:
        return len(self.left)


@dataclass(frozen=True)
class SimilarityResult:
    """Spearman rho of one pair set, with how many pairs could be scored.

    Attributes
    ----------
    name : str
    rho : float
        NaN when fewer than two pairs were covered.
    pairs_used : int
        Pairs whose two keys are both known.
    pairs_total : int

    Examples
    --------
    >>> result = SimilarityResult("toy", rho=0.5, pairs_used=3, pairs_total=4)
    >>> result.coverage
    0.75
    """

    name: str
    rho: float
    pairs_used: int
    pairs_total: int

    @property
    def coverage(self) -> float:
        """Fraction of pairs scored (``pairs_used / pairs_total``)."""
        return self.pairs_used / self.pairs_total if self.pairs_total else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict view, for report tables."""
        return {
            "set": self.name,
            "rho": self.rho,
            "pairs_used": self.pairs_used,
            "pairs_total": self.pairs_total,
            "coverage": self.coverage,
        }


@dataclass(frozen=True)
class WordSimResults:
    """Results over several pair sets.

    Attributes
    ----------
    sets : dict of str to SimilarityResult
        In the order evaluated.

    Examples
    --------
    >>> results = WordSimResults({"a": SimilarityResult("a", 0.6, 4, 4),
    ...                           "b": SimilarityResult("b", 0.2, 4, 4)})
    >>> round(results.mean_rho, 3)
    0.4
    """

    sets: dict[str, SimilarityResult]

    @property
    def mean_rho(self) -> float:
        """Mean rho over the sets where rho is defined (NaN if none)."""
        rhos = [r.rho for r in self.sets.values() if not math.isnan(r.rho)]
        return float(np.mean(rhos)) if rhos else float("nan")

    def rows(self) -> list[dict[str, Any]]:
        """One dict per set, then a ``"mean"`` row (rho mean, pair counts summed)."""
        out = [r.as_dict() for r in self.sets.values()]
        used = sum(r.pairs_used for r in self.sets.values())
        total = sum(r.pairs_total for r in self.sets.values())
        out.append(
            {
                "set": "mean",
                "rho": self.mean_rho,
                "pairs_used": used,
                "pairs_total": total,
                "coverage": used / total if total else 0.0,
            }
        )
        return out


def _parse_lines(
    lines: Iterable[str], source: str, *, sep: str | None, lowercase: bool, header: bool | None
) -> PairSet:
    left: list[str] = []
    right: list[str] = []
    gold: list[float] = []
    first = True
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        is_first, first = first, False
        if header and is_first:
            continue
        parts = line.split(sep) if sep is not None else line.split()
        if len(parts) != 3:
            raise InputError(
                f"{source}, line {lineno}: expected 3 fields (key1, key2, score), got {len(parts)}"
            )
        a, b, s = (p.strip() for p in parts)
        try:
            score = float(s)
        except ValueError:
            if header is None and is_first:
                continue  # a header row such as "word1 word2 score"
            raise InputError(f"{source}, line {lineno}: score {s!r} is not a number") from None
        if not math.isfinite(score):
            raise InputError(f"{source}, line {lineno}: score {s!r} is not finite")
        if not a or not b:
            raise InputError(f"{source}, line {lineno}: empty key")
        left.append(a.lower() if lowercase else a)
        right.append(b.lower() if lowercase else b)
        gold.append(score)
    if not left:
        raise InputError(f"{source}: no pairs found")
    return PairSet(Path(source).stem, tuple(left), tuple(right), np.asarray(gold, np.float64))


def load_wordsim(name: str) -> PairSet:
    """Load a bundled word-similarity set, lower-cased.

    Parameters
    ----------
    name : str
        One of :data:`WORDSIM_SETS` (case-insensitive, ``.txt`` optional).

    Returns
    -------
    PairSet

    Examples
    --------
    >>> pairs = load_wordsim("EN-RG-65")
    >>> pairs.name, len(pairs.gold)
    ('EN-RG-65', 65)
    """
    wanted = name.removesuffix(".txt").lower()
    matches = [s for s in WORDSIM_SETS if s.lower() == wanted]
    if not matches:
        raise InputError(f"unknown word-similarity set {name!r}; choose from {WORDSIM_SETS}")
    resource = resources.files("vecae") / "data" / "word-sim" / f"{matches[0]}.txt"
    text = resource.read_text(encoding="utf-8")
    pairs = _parse_lines(
        text.splitlines(), f"{matches[0]}.txt", sep=None, lowercase=True, header=False
    )
    return PairSet(matches[0], pairs.left, pairs.right, pairs.gold)


def load_word_pairs(path: str | os.PathLike[str], *, lowercase: bool = True) -> PairSet:
    """Load a user's word-pair file: ``word1 word2 score`` per line.

    Fields are separated by any whitespace (spaces or tabs). Blank lines and lines
    starting with ``#`` are skipped; a first line whose score is not a number is taken
    as a header.

    Parameters
    ----------
    path : path-like
    lowercase : bool
        Lower-case the words.

    Returns
    -------
    PairSet
        Named after the file stem.

    Raises
    ------
    InputError
        For a line without exactly three fields or with a non-numeric score; the
        message names the file and line.

    Examples
    --------
    >>> import pathlib
    >>> _ = pathlib.Path("words.txt").write_text("Cat dog 8.5\\ncar bus 6\\n")
    >>> load_word_pairs("words.txt").left
    ('cat', 'car')
    """
    with open(path, encoding="utf-8") as fh:
        return _parse_lines(fh, os.fspath(path), sep=None, lowercase=lowercase, header=None)


def load_key_pairs(path: str | os.PathLike[str], *, header: bool | None = None) -> PairSet:
    """Load a generic TSV pair file: ``key1<TAB>key2<TAB>gold`` per line.

    Keys are used exactly as written (they may contain spaces), for example sentence
    ids of STS-B or SICK.

    Parameters
    ----------
    path : path-like
    header : bool or None
        Whether the first line is a header; None detects it (non-numeric score).

    Returns
    -------
    PairSet

    Raises
    ------
    InputError
        For a malformed line; the message names the file and line.

    Examples
    --------
    >>> import pathlib
    >>> _ = pathlib.Path("pairs.tsv").write_text("q1\\td7\\t0.9\\nq1\\td3\\t0.2\\n")
    >>> pairs = load_key_pairs("pairs.tsv")
    >>> pairs.left, pairs.right, pairs.gold.tolist()
    (('q1', 'q1'), ('d7', 'd3'), [0.9, 0.2])
    """
    with open(path, encoding="utf-8") as fh:
        return _parse_lines(fh, os.fspath(path), sep="\t", lowercase=False, header=header)


class _Lookup:
    """Key -> row mapping; on duplicates the first row wins (e.g. the most frequent word)."""

    def __init__(self, keys: Sequence[str], lowercase: bool) -> None:
        self.index: dict[str, int] = {}
        for i, key in enumerate(keys):
            self.index.setdefault(str(key).lower() if lowercase else str(key), i)
        self.lowercase = lowercase

    def rows(self, pairs: PairSet) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
        a, b, keep = [], [], []
        for i, (x, y) in enumerate(zip(pairs.left, pairs.right, strict=True)):
            if self.lowercase:
                x, y = x.lower(), y.lower()
            ia, ib = self.index.get(x), self.index.get(y)
            if ia is not None and ib is not None:
                a.append(ia)
                b.append(ib)
                keep.append(i)
        return np.asarray(a, np.int64), np.asarray(b, np.int64), pairs.gold[keep]


def _score(lookup: _Lookup, vectors: NDArray[Any], pairs: PairSet) -> SimilarityResult:
    ia, ib, gold = lookup.rows(pairs)
    rho = spearman_similarity(vectors[ia], vectors[ib], gold) if ia.size else float("nan")
    return SimilarityResult(pairs.name, rho, int(ia.size), len(pairs))


def _resolve(item: str | os.PathLike[str] | PairSet, lowercase: bool) -> PairSet:
    if isinstance(item, PairSet):
        return item
    if isinstance(item, str) and item.removesuffix(".txt").lower() in {
        s.lower() for s in WORDSIM_SETS
    }:
        return load_wordsim(item)
    return load_word_pairs(item, lowercase=lowercase)


def _check_keys(keys: Sequence[str], vectors: ArrayLike) -> NDArray[Any]:
    arr = as_matrix(vectors)
    if len(keys) != arr.shape[0]:
        raise InputError(f"keys: {len(keys)} keys for {arr.shape[0]} vectors")
    return arr


def evaluate_word_similarity(
    keys: Sequence[str],
    vectors: ArrayLike,
    sets: Sequence[str | os.PathLike[str] | PairSet] = DEFAULT_WORDSIM_SETS,
    *,
    lowercase: bool = True,
) -> WordSimResults:
    """Spearman rho of cosine similarity against human judgements, per set.

    Pairs with a word missing from ``keys`` are skipped and counted in the coverage.

    Parameters
    ----------
    keys : sequence of str
        The word of each row of ``vectors``. When two keys collide (after lower-casing)
        the first row is used, which for frequency-ordered vocabularies is the most
        frequent form.
    vectors : array-like of shape (n, d)
    sets : sequence
        Bundled set names (:data:`WORDSIM_SETS`), paths of the user's own
        ``word1 word2 score`` files, or :class:`PairSet` objects.
    lowercase : bool
        Compare words lower-cased.

    Returns
    -------
    WordSimResults
        Per-set rho, pairs used, pairs total and coverage, and the mean rho.

    Examples
    --------
    >>> from vecae.datasets import load_glove
    >>> words, vectors = load_glove(20000)
    >>> result = evaluate_word_similarity(words, vectors, ["EN-WS-353-ALL"])
    >>> 0.3 < result.mean_rho < 0.8
    True
    """
    arr = _check_keys(keys, vectors)
    lookup = _Lookup(keys, lowercase)
    results: dict[str, SimilarityResult] = {}
    for item in sets:
        pairs = _resolve(item, lowercase)
        results[pairs.name] = _score(lookup, arr, pairs)
    return WordSimResults(results)


def evaluate_pairs(
    keys: Sequence[str], vectors: ArrayLike, pairs: PairSet | str | os.PathLike[str]
) -> SimilarityResult:
    """Spearman rho on generic keyed pairs (keys matched exactly, e.g. sentence ids).

    Parameters
    ----------
    keys : sequence of str
        The key of each row of ``vectors``.
    vectors : array-like of shape (n, d)
    pairs : PairSet or path-like
        Pairs, or a TSV file read with :func:`load_key_pairs`.

    Returns
    -------
    SimilarityResult

    Examples
    --------
    >>> import numpy as np
    >>> keys, vectors = ["a", "b", "c"], np.array([[1.0, 0], [1, 0.2], [0, 1]])
    >>> pairs = PairSet("mine", ("a", "a"), ("b", "c"), np.array([1.0, 0.0]))
    >>> round(evaluate_pairs(keys, vectors, pairs).rho, 6)
    1.0
    """
    arr = _check_keys(keys, vectors)
    ps = pairs if isinstance(pairs, PairSet) else load_key_pairs(pairs)
    return _score(_Lookup(keys, lowercase=False), arr, ps)
