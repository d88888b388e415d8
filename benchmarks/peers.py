"""vecae side by side with the libraries its users would otherwise pick: PyOD and implicit.

Usage (from the repository root, offline; needs ``pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/peers.py --part anomaly --seeds 0 1 2
    .venv/bin/python benchmarks/peers.py --part recommend --seeds 0 1 2 3 4 5 6 7 8 9
    .venv/bin/python benchmarks/peers.py --part anomaly --methods "PyOD IForest" --sets cardio

**Anomalies.** The 16 ADBench sets (Han et al. 2022) under ``../shared/data/anomaly/adbench``:
14 classical tabular sets and 20 Newsgroups as BERT and RoBERTa embeddings. Unsupervised
protocol: fit on all rows, score all rows (each detector's ``decision_scores_``), AUROC.
PyOD's detectors run with their defaults (constant columns dropped for PyOD PCA, which
otherwise returns NaN, and on rank-deficient data only as many components as the rank;
``verbose=0``). vecae's default detector is
``vecae.AnomalyDetector()``, which is also what ``vecae anomalies INPUT -o FILE`` fits.

**Recommendations.** MovieLens-100k (ratings >= 4, users with at least 5 of them;
``../shared/data/recommend/ml-100k``) and the AG News word-bag stand-in of
``benchmarks/recommend.py``, under the strong-generalisation protocol of Liang et al. (2018):
10% of users held out, 80/20 fold-in/target split, Recall@20 and NDCG@100. Peers: EASE with
lambda = 300 written out from Steck (2019) independently of vecae's, implicit's ALS
(defaults; held-out users folded in with ``recalculate_user``), implicit's item-kNN
(``CosineRecommender``, defaults) and most-popular.

Results are cached per (method, data set, seed) in ``out/peers/*.json``, so an interrupted run
resumes and a table can be reprinted with ``--report``. Run it with ``nice`` on a shared
machine; the script prints the library versions it ran with.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "out" / "peers"
sys.path.insert(0, str(ROOT / "benchmarks"))

Detector = Callable[[np.ndarray, int], np.ndarray]


# ------------------------------------------------------------------------------ anomalies


def _pyod(name: str) -> Detector:
    def run(X: np.ndarray, seed: int) -> np.ndarray:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD
        from pyod.models.iforest import IForest
        from pyod.models.knn import KNN
        from pyod.models.pca import PCA
        from pyod.models.vae import VAE

        if name == "PCA":
            X = X[:, X.std(axis=0) > 0]  # PyOD PCA returns NaN on constant columns
        model = {
            "AutoEncoder": lambda: AutoEncoder(random_state=seed, verbose=0),
            "VAE": lambda: VAE(random_state=seed, verbose=0),
            "IForest": lambda: IForest(random_state=seed),
            "KNN": lambda: KNN(),
            "ECOD": lambda: ECOD(),
            "PCA": lambda: PCA(random_state=seed),
        }[name]()
        scores = np.asarray(model.fit(X).decision_scores_, dtype=np.float64)
        if name == "PCA" and not np.isfinite(scores).all():
            # Rank-deficient data (e.g. mnist): PyOD divides by zero-variance components.
            # Keep only as many components as the standardised data has rank.
            standard = (X - X.mean(axis=0)) / X.std(axis=0)
            rank = int(np.linalg.matrix_rank(standard))
            model = PCA(n_components=rank, random_state=seed)
            scores = np.asarray(model.fit(X).decision_scores_, dtype=np.float64)
        return scores

    return run


def _vecae_default(X: np.ndarray, seed: int) -> np.ndarray:
    from vecae import AnomalyDetector

    return AnomalyDetector(n_threads=1, random_state=seed).fit(X).decision_scores_


def _vecae_native(X: np.ndarray, seed: int) -> np.ndarray:
    """The previous default: members' own scores, no latent term (error="native")."""
    from vecae import AnomalyDetector

    detector = AnomalyDetector(error="native", latent_weight=0.0, n_threads=1, random_state=seed)
    return detector.fit(X).decision_scores_


def _vecae_vae_recipe(X: np.ndarray, seed: int) -> np.ndarray:
    """The single-VAE recipe docs/benchmarks.md documented before the dedicated detector."""
    from vecae import VariationalAutoencoder

    d = X.shape[1]
    model = VariationalAutoencoder(
        latent_dim=max(1, min(32, d // 4)), scale="feature", n_threads=1, random_state=seed
    )
    return np.asarray(model.fit(X).anomaly_score(X), dtype=np.float64)


def _pca32_reconstruction(X: np.ndarray, seed: int) -> np.ndarray:
    """The issue's text-set reference: reconstruction error of a 32-component PCA on raw rows."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(32, X.shape[1] - 1, X.shape[0] - 1), random_state=seed).fit(X)
    residual = X - pca.inverse_transform(pca.transform(X))
    return np.asarray((residual.astype(np.float64) ** 2).sum(axis=1))


ANOMALY_METHODS: dict[str, Detector] = {
    "vecae AnomalyDetector (default)": _vecae_default,
    "vecae AnomalyDetector, previous default (native error, no latent term)": _vecae_native,
    "vecae VAE, documented recipe": _vecae_vae_recipe,
    "PyOD IForest": _pyod("IForest"),
    "PyOD AutoEncoder": _pyod("AutoEncoder"),
    "PyOD VAE": _pyod("VAE"),
    "PyOD KNN": _pyod("KNN"),
    "PyOD ECOD": _pyod("ECOD"),
    "PyOD PCA": _pyod("PCA"),
    "PCA-32 reconstruction (sklearn)": _pca32_reconstruction,
}


def adbench_sets(data: Path) -> dict[str, Path]:
    root = data / "anomaly" / "adbench"
    sets = {p.stem.split("_", 1)[1]: p for p in sorted((root / "Classical").glob("*.npz"))}
    sets["20news BERT"] = root / "NLP_by_BERT" / "20news_3.npz"
    sets["20news RoBERTa"] = root / "NLP_by_RoBERTa" / "20news_3.npz"
    missing = [str(p) for p in sets.values() if not p.exists()]
    if not sets or missing:
        sys.exit(f"missing benchmark data under {root} (pass --data DIR): {missing[:3]}")
    return sets


def run_anomaly(args: argparse.Namespace) -> dict[str, list[float]]:
    from sklearn.metrics import roc_auc_score

    cache_path = CACHE / "anomaly.json"
    cache = _load(cache_path)
    sets = {k: v for k, v in adbench_sets(args.data).items() if _selected(k, args.sets)}
    methods = {k: v for k, v in ANOMALY_METHODS.items() if _selected(k, args.methods)}
    for method, detect in methods.items():
        for name, path in sets.items():
            with np.load(path, allow_pickle=False) as data:
                X, y = data["X"].astype(np.float32), data["y"].astype(int)
            for seed in args.seeds:
                key = f"{method}|{name}|{seed}"
                if key in cache:
                    continue
                start = time.perf_counter()
                scores = detect(X, seed)
                cache[key] = [float(roc_auc_score(y, scores)), time.perf_counter() - start]
                _save(cache_path, cache)
                print(f"{key}: AUROC {cache[key][0]:.3f} ({cache[key][1]:.1f} s)", flush=True)
    return _report_anomaly(cache, list(sets), list(methods), args.seeds)


def _report_anomaly(
    cache: dict[str, list[float]], sets: list[str], methods: list[str], seeds: list[int]
) -> dict[str, list[float]]:
    table: dict[str, dict[str, float]] = {}
    for method in methods:
        for name in sets:
            keys = [f"{method}|{name}|{s}" for s in seeds]
            values = [cache[k][0] for k in keys if k in cache]
            if len(values) == len(seeds):
                table.setdefault(method, {})[name] = statistics.mean(values)
    complete = [m for m in methods if len(table.get(m, {})) == len(sets)]
    if not complete:
        print("no method has results for every selected set and seed yet")
        return {}
    # Rank per set and seed (1 = best AUROC), then average, as in the table.
    ranks: dict[str, list[float]] = {m: [] for m in complete}
    from scipy.stats import rankdata

    for name in sets:
        for s in seeds:
            aurocs = [cache[f"{m}|{name}|{s}"][0] for m in complete]
            for m, r in zip(complete, rankdata([-a for a in aurocs]), strict=True):
                ranks[m].append(float(r))
    print(f"\nAUROC, mean of seeds {seeds}; rank among the {len(complete)} complete methods")
    print("| set | " + " | ".join(complete) + " |")
    print("|---" * (len(complete) + 1) + "|")
    for name in sets:
        best = max(table[m][name] for m in complete)
        cells = [
            f"**{table[m][name]:.3f}**" if table[m][name] == best else f"{table[m][name]:.3f}"
            for m in complete
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    means = {m: statistics.mean(table[m].values()) for m in complete}
    print("| **mean AUROC** | " + " | ".join(f"{means[m]:.3f}" for m in complete) + " |")
    print(
        "| **mean rank** | "
        + " | ".join(f"{statistics.mean(ranks[m]):.2f}" for m in complete)
        + " |"
    )
    return {m: [means[m], statistics.mean(ranks[m])] for m in complete}


# ------------------------------------------------------------------------- recommendations


def movielens_100k(data: Path) -> Any:
    from vecae.recommend import InteractionMatrix

    path = data / "recommend" / "ml-100k" / "ml-100k.inter"
    if not path.exists():
        sys.exit(f"missing benchmark data: {path} (pass --data DIR)")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    positive = [(u, i) for u, i, rating, _ in rows if float(rating) >= 4]
    counts: dict[str, int] = {}
    for u, _ in positive:
        counts[u] = counts.get(u, 0) + 1
    kept = [(u, i) for u, i in positive if counts[u] >= 5]
    return InteractionMatrix.from_pairs([u for u, _ in kept], [i for _, i in kept])


def _reference_ease(train: sp.csr_matrix, l2: float = 300.0) -> Callable[[Any], np.ndarray]:
    """EASE as printed in Steck (2019), Algorithm 1: an independent check on vecae's."""
    G = (train.T @ train).toarray().astype(np.float64)
    G[np.diag_indices(G.shape[0])] += l2
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    B[np.diag_indices(B.shape[0])] = 0.0
    return lambda rows: np.asarray(rows @ B)


def _implicit_als(train: sp.csr_matrix, seed: int) -> Callable[[Any], np.ndarray]:
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(random_state=seed, num_threads=1)
    model.fit(train.astype(np.float32), show_progress=False)

    def score(rows: Any) -> np.ndarray:
        rows = sp.csr_matrix(rows, dtype=np.float32)
        users = model.recalculate_user(np.arange(rows.shape[0]), rows)
        return np.asarray(users @ model.item_factors.T)

    return score


def _implicit_cosine(train: sp.csr_matrix) -> Callable[[Any], np.ndarray]:
    from implicit.nearest_neighbours import CosineRecommender

    model = CosineRecommender(num_threads=1)
    model.fit(train.astype(np.float32), show_progress=False)
    return lambda rows: np.asarray((sp.csr_matrix(rows) @ model.similarity).toarray())


def recommend_methods(
    train: sp.csr_matrix, seed: int
) -> dict[str, Callable[[], Callable[[Any], np.ndarray]]]:
    from vecae.recommend import (
        InteractionMatrix,
        ItemKNNRecommender,
        PopularityRecommender,
        Recommender,
    )

    matrix = InteractionMatrix(
        train, [f"u{i}" for i in range(train.shape[0])], [f"i{j}" for j in range(train.shape[1])]
    )
    return {
        "vecae Recommender (default: EASE, l2 auto)": lambda: (
            Recommender.fit(matrix, random_state=seed).score
        ),
        "vecae Recommender mult-dae": lambda: (
            Recommender.fit(matrix, "mult-dae", random_state=seed, n_threads=1).score
        ),
        "vecae Recommender recvae": lambda: (
            Recommender.fit(matrix, "recvae", random_state=seed, n_threads=1).score
        ),
        "vecae ItemKNNRecommender": lambda: ItemKNNRecommender().fit(train).score,
        "EASE l2=300 (Steck's algorithm)": lambda: _reference_ease(train),
        "implicit ALS": lambda: _implicit_als(train, seed),
        "implicit item-kNN cosine": lambda: _implicit_cosine(train),
        "most popular": lambda: PopularityRecommender().fit(train).score,
    }


def run_recommend(args: argparse.Namespace) -> None:
    from recommend import ag_news_bags

    from vecae.recommend import evaluate_recommender, split_users

    cache_path = CACHE / "recommend.json"
    cache = _load(cache_path)
    datasets = {"MovieLens-100k": movielens_100k, "AG News stand-in": ag_news_bags}
    for data_name, loader in datasets.items():
        if not _selected(data_name, args.sets):
            continue
        interactions = None
        for seed in args.seeds:
            split = None
            for method in recommend_methods(sp.csr_matrix((1, 1)), seed):
                if not _selected(method, args.methods):
                    continue
                key = f"{method}|{data_name}|{seed}"
                if key in cache:
                    continue
                if interactions is None:
                    interactions = loader(args.data)
                if split is None:
                    split = split_users(
                        interactions, n_heldout_users=interactions.n_users // 10, random_state=seed
                    )
                start = time.perf_counter()
                score = recommend_methods(split.train, seed)[method]()
                fit_seconds = time.perf_counter() - start
                metrics = evaluate_recommender(score, split, ks=(20, 100))
                cache[key] = [metrics["recall@20"], metrics["ndcg@100"], fit_seconds]
                _save(cache_path, cache)
                print(
                    f"{key}: Recall@20 {metrics['recall@20']:.4f} NDCG@100 "
                    f"{metrics['ndcg@100']:.4f} (fit {fit_seconds:.1f} s)",
                    flush=True,
                )
        _report_recommend(cache, data_name, args.seeds)


def _report_recommend(cache: dict[str, list[float]], data_name: str, seeds: list[int]) -> None:
    methods = list(recommend_methods(sp.csr_matrix((1, 1)), 0))
    rows = {
        m: [cache[f"{m}|{data_name}|{s}"] for s in seeds if f"{m}|{data_name}|{s}" in cache]
        for m in methods
    }
    rows = {m: v for m, v in rows.items() if len(v) == len(seeds)}
    if not rows:
        return
    print(f"\n{data_name}, seeds {seeds}: mean (min-max over seeds); fit seconds median")
    print("| method | Recall@20 | NDCG@100 | fit s |")
    print("|---|---|---|---|")
    for m, v in rows.items():
        r, n, t = ([x[i] for x in v] for i in range(3))
        print(
            f"| {m} | {statistics.mean(r):.4f} ({min(r):.3f}-{max(r):.3f}) | "
            f"{statistics.mean(n):.4f} ({min(n):.3f}-{max(n):.3f}) | {statistics.median(t):.2f} |"
        )
    default = rows.get("vecae Recommender (default: EASE, l2 auto)")
    if default:
        for peer in ("implicit ALS", "vecae ItemKNNRecommender", "implicit item-kNN cosine"):
            if peer in rows:
                wins = sum(
                    d[0] > p[0] and d[1] > p[1] for d, p in zip(default, rows[peer], strict=True)
                )
                print(f"default beats {peer} on both metrics in {wins} of {len(seeds)} seeds")


# ------------------------------------------------------------------------------------ speed


def run_speed(args: argparse.Namespace) -> None:
    """The issue's two speed targets: EASE fit on MovieLens-100k, `vecae anomalies` on 100k x 384.

    The 100k x 384 input is every all-MiniLM-L6-v2 sentence vector that
    ``benchmarks/quality.py --part sentences`` caches (46,028 real vectors), stacked with
    copies carrying Gaussian jitter (std 0.01) up to 100,000 rows: real geometry, and a fit plus
    scoring cost that does not depend on the jitter.
    """
    import subprocess

    from vecae.recommend import EASERecommender

    interactions = movielens_100k(args.data)
    for label, make in (
        ("l2=300", lambda: EASERecommender(l2=300.0)),
        ("l2 auto", EASERecommender),
    ):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            make().fit(interactions.matrix)
            times.append(time.perf_counter() - start)
        print(
            f"EASE fit on MovieLens-100k ({interactions.n_users} x {interactions.n_items}), "
            f"{label}: median {statistics.median(times):.2f} s of {times}"
        )
    cache = ROOT / "out" / "quality" / "cache" / "minilm_sentences.npz"
    if not cache.exists():
        cache = ROOT / "out" / "cache" / "minilm_sentences.npz"
    if not cache.exists():
        print(f"skipping the anomalies timing: run benchmarks/quality.py first ({cache} missing)")
        return
    with np.load(cache, allow_pickle=False) as data:
        real = np.vstack([data[k] for k in data.files if data[k].ndim == 2]).astype(np.float32)
    rng = np.random.default_rng(0)
    extra = real[rng.integers(0, len(real), 100_000 - len(real))]
    X = np.vstack([real, extra + rng.normal(0, 0.01, extra.shape).astype(np.float32)])
    vectors = CACHE / "speed_100k_384.npy"
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(vectors, X)
    command = [sys.executable, "-m", "vecae.cli", "anomalies", str(vectors)]
    command += ["-o", str(CACHE / "speed_scores.csv"), "--overwrite", "--quiet"]
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    print(
        f"vecae anomalies on {X.shape[0]:,} x {X.shape[1]} (fit + score + write, whole "
        f"process): median {statistics.median(times):.1f} s of {[round(t, 1) for t in times]}"
    )


# ---------------------------------------------------------------------------------- plumbing


def _selected(name: str, wanted: list[str] | None) -> bool:
    return not wanted or any(w.lower() in name.lower() for w in wanted)


def _load(path: Path) -> dict[str, list[float]]:
    return json.loads(path.read_text()) if path.exists() else {}


def _save(path: Path, cache: dict[str, list[float]]) -> None:
    """Merge ``cache`` into the file, so runs of different methods can share it in parallel."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {**_load(path), **cache}
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(merged, indent=0))
        temp.replace(path)


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("vecae", "pyod", "implicit", "torch", "scikit-learn", "numpy"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} (not installed)")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["anomaly", "recommend", "speed", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (--part speed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="*", help="substrings of method names to run")
    parser.add_argument("--sets", nargs="*", help="substrings of data set names to run")
    parser.add_argument("--report", action="store_true", help="print cached results only")
    default_data = os.environ.get("VECAE_BENCH_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data))
    args = parser.parse_args()
    print(_versions())
    if args.report:
        if args.part in ("anomaly", "all"):
            names = [n for n in adbench_sets(args.data) if _selected(n, args.sets)]
            methods = [m for m in ANOMALY_METHODS if _selected(m, args.methods)]
            _report_anomaly(_load(CACHE / "anomaly.json"), names, methods, args.seeds)
        if args.part in ("recommend", "all"):
            for name in ("MovieLens-100k", "AG News stand-in"):
                _report_recommend(_load(CACHE / "recommend.json"), name, args.seeds)
        return
    if args.part in ("anomaly", "all"):
        run_anomaly(args)
    if args.part in ("recommend", "all"):
        run_recommend(args)
    if args.part in ("speed", "all"):
        run_speed(args)


if __name__ == "__main__":
    main()
