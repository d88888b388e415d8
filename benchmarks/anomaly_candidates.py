"""The AnomalyDetector variants measured one by one before choosing its defaults.

Usage (from the repository root, offline)::

    .venv/bin/python benchmarks/anomaly_candidates.py '{"vae3": {"member": "vae",
        "n_estimators": 3, "max_samples": 2048}}' 0 [set-substring,...]

The first argument maps a variant name to ``AnomalyDetector`` parameters; two names are
special: ``iforest`` (scikit-learn's IsolationForest, defaults) and ``vaedoc`` (the single
``VariationalAutoencoder`` with ``scale="feature"``, ``latent_dim = max(1, min(32, d // 4))``
and one hidden layer of ``2 d``, fitted on all rows). The second is a comma-separated list of
seeds. ADBench sets are read from ``../shared/data/anomaly/adbench`` (``VECAE_BENCH_DATA``
overrides ``../shared/data``). Protocol: fit on all rows, score all rows, AUROC. Results
(AUROC, seconds) are cached per variant, set and seed in ``out/anomaly_candidates/cache.json``
and each run's scores in ``out/anomaly_candidates/scores/`` (for offline fusion checks).
Section 3 of docs/benchmarks.md lists what each variant scored.

Scoring variants of the same fitted members are compared without refitting::

    .venv/bin/python benchmarks/anomaly_candidates.py components 8 0,1,2
    .venv/bin/python benchmarks/anomaly_candidates.py fuse 0,1,2

``components N SEEDS`` fits ``AnomalyDetector(n_estimators=N)`` (members alternate VAE and
AE, default subsamples; the first four are the default detector's) on every set and seed and
saves, per member, its own score (``native``: squared error or negative ELBO), the plain
squared error of the posterior-mean reconstruction (``mse``), the standardised error
(``stderr``: each feature's squared error over its mean on the member's training rows,
averaged over features) and the squared Mahalanobis distance of the code from its training
rows' Gaussian (``maha``), in ``out/anomaly_candidates/components/``. ``fuse SEEDS`` then
prints mean AUROC and mean rank (among the fused variant and the PyOD / PCA-32 rows cached
by ``benchmarks/peers.py``) for each combination: every term robust-scaled (median, IQR),
summed with its weight, averaged over members.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from vecae import AnomalyDetector, VariationalAutoencoder

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VECAE_BENCH_DATA", str(ROOT.parent / "shared" / "data")))
OUT = ROOT / "out" / "anomaly_candidates"


def scores_of(name: str, params: dict[str, object], X: np.ndarray, seed: int) -> np.ndarray:
    if name.startswith("iforest"):
        from sklearn.ensemble import IsolationForest

        return -IsolationForest(random_state=seed).fit(X).score_samples(X)
    if name.startswith("vaedoc"):
        d = X.shape[1]
        model = VariationalAutoencoder(
            latent_dim=max(1, min(32, d // 4)),
            hidden=(2 * d,),
            scale="feature",
            n_threads=1,
            random_state=seed,
        )
        return model.fit(X).anomaly_score(X)
    detector = AnomalyDetector(**params, n_threads=1, random_state=seed)  # type: ignore[arg-type]
    return detector.fit(X).decision_scores_


def _components(n_members: int, seeds: list[int]) -> None:
    import torch
    from peers import adbench_sets

    torch.set_num_threads(1)
    out = OUT / "components"
    out.mkdir(parents=True, exist_ok=True)
    for name, path in adbench_sets(DATA).items():
        with np.load(path, allow_pickle=False) as data:
            X, y = data["X"].astype(np.float32), data["y"].astype(int)
        for seed in seeds:
            target = out / f"{n_members}__{name.replace(' ', '_')}__{seed}.npz"
            if target.exists():
                continue
            start = time.perf_counter()
            detector = AnomalyDetector(
                n_estimators=n_members, error="native", latent_weight=0.0, n_threads=1,
                random_state=seed,
            ).fit(X)  # fmt: skip
            arrays: dict[str, np.ndarray] = {"y": y}
            for i, (member, rows) in enumerate(
                zip(detector.estimators_, detector.training_rows_, strict=True)
            ):
                codes = member.transform(X).astype(np.float64)
                errors = np.square(X - member.inverse_transform(codes.astype(np.float32)))
                errors = errors.astype(np.float64)
                centre = codes[rows].mean(axis=0)
                cov = np.atleast_2d(np.cov(codes[rows], rowvar=False))
                cov += (1e-6 * np.trace(cov) / len(cov) + 1e-9) * np.eye(len(cov))
                diff = codes - centre
                arrays[f"{i}_native"] = member.anomaly_score(X).astype(np.float64)
                # In the member's (per-feature standardised) input space, as it trained.
                arrays[f"{i}_mse"] = (errors / np.square(member.scaler_.std)).mean(axis=1)
                feature = np.maximum(errors[rows].mean(axis=0), 1e-8 * errors[rows].mean())
                arrays[f"{i}_stderr"] = (errors / (feature + 1e-30)).mean(axis=1)
                arrays[f"{i}_maha"] = np.einsum("ij,jk,ik->i", diff, np.linalg.inv(cov), diff)
            np.savez(target, **arrays)
            print(name, seed, f"{time.perf_counter() - start:.1f} s", flush=True)


def _robust(values: np.ndarray) -> np.ndarray:
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    spread = q3 - q1 if q3 - q1 > 1e-12 else (values.std() or 1.0)
    return (values - median) / spread


AUTO: dict[str, float] = {}  # marker: AnomalyDetector's "auto" (width-dependent) scoring
FUSIONS: dict[str, tuple[dict[str, float], str]] = {
    "native (previous default)": ({"native": 1.0}, "first4"),
    "native, 8 members": ({"native": 1.0}, "all"),
    "native, rank-mean of members": ({"native": 1.0}, "rank"),
    "mse": ({"mse": 1.0}, "first4"),
    "stderr": ({"stderr": 1.0}, "first4"),
    "maha": ({"maha": 1.0}, "first4"),
    "native + maha": ({"native": 1.0, "maha": 1.0}, "first4"),
    "mse + maha": ({"mse": 1.0, "maha": 1.0}, "first4"),
    "stderr + 0.5 maha": ({"stderr": 1.0, "maha": 0.5}, "first4"),
    "stderr + maha (tabular default)": ({"stderr": 1.0, "maha": 1.0}, "first4"),
    "stderr + 2 maha": ({"stderr": 1.0, "maha": 2.0}, "first4"),
    "stderr + maha, 2 members": ({"stderr": 1.0, "maha": 1.0}, "first2"),
    "stderr + maha, 8 members": ({"stderr": 1.0, "maha": 1.0}, "all"),
    "stderr + maha, AE members only": ({"stderr": 1.0, "maha": 1.0}, "ae"),
    "stderr + maha, VAE members only": ({"stderr": 1.0, "maha": 1.0}, "vae"),
    "auto (the default)": (AUTO, "first4"),
    "auto, 8 members": (AUTO, "all"),
}


def _fuse(seeds: list[int]) -> None:
    from peers import CACHE, adbench_sets
    from scipy.stats import rankdata

    peers = json.loads((CACHE / "anomaly.json").read_text())
    others = ["PyOD IForest", "PyOD KNN", "PyOD ECOD", "PyOD PCA"]
    others.append("PCA-32 reconstruction (sklearn)")
    paths = adbench_sets(DATA)
    sets = list(paths)
    widths = {}
    for name, path in paths.items():
        with np.load(path, allow_pickle=False) as data:
            widths[name] = data["X"].shape[1]
    files = sorted((OUT / "components").glob("*.npz"))
    n_members = max(int(f.name.split("__")[0]) for f in files)
    print(f"{'variant':34s} mean AUROC  mean rank (IForest's)  20news BERT / RoBERTa")
    for label, (weights, which) in FUSIONS.items():
        members = {"first4": range(4), "first2": range(2), "all": range(n_members),
                   "rank": range(4), "ae": range(1, 4, 2), "vae": range(0, 4, 2)}  # fmt: skip
        members = members[which]
        auroc: dict[tuple[str, int], float] = {}
        for name in sets:
            for seed in seeds:
                path = OUT / "components" / f"{n_members}__{name.replace(' ', '_')}__{seed}.npz"
                terms = weights
                if weights is AUTO:  # as AnomalyDetector(error="auto", latent_weight="auto")
                    tabular = widths[name] < 128
                    terms = {"stderr": 1.0, "maha": 1.0} if tabular else {"native": 1.0}
                with np.load(path) as d:
                    score = sum(
                        rankdata(d[f"{i}_{k}"]) if which == "rank" else w * _robust(d[f"{i}_{k}"])
                        for i in members
                        for k, w in terms.items()
                    )
                    auroc[name, seed] = float(roc_auc_score(d["y"], score))
        ranks, iforest = [], []
        for name in sets:
            for seed in seeds:
                values = [auroc[name, seed]] + [peers[f"{m}|{name}|{seed}"][0] for m in others]
                r = rankdata([-v for v in values])
                ranks.append(r[0])
                iforest.append(r[1])
        per_set = {n: np.mean([auroc[n, s] for s in seeds]) for n in sets}
        print(
            f"{label:34s} {np.mean(list(per_set.values())):.4f}      {np.mean(ranks):.2f} "
            f"({np.mean(iforest):.2f})          {per_set['20news BERT']:.3f} / "
            f"{per_set['20news RoBERTa']:.3f}"
        )


def main() -> None:
    if sys.argv[1] == "components":
        _components(int(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")])
        return
    if sys.argv[1] == "fuse":
        _fuse([int(s) for s in sys.argv[2].split(",")])
        return
    variants = json.loads(sys.argv[1])
    seeds = [int(s) for s in sys.argv[2].split(",")]
    only = sys.argv[3].split(",") if len(sys.argv) > 3 else None
    root = DATA / "anomaly" / "adbench"
    sets = [
        *sorted(root.glob("Classical/*.npz")),
        root / "NLP_by_BERT" / "20news_3.npz",
        root / "NLP_by_RoBERTa" / "20news_3.npz",
    ]
    cache_path = OUT / "cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    (OUT / "scores").mkdir(parents=True, exist_ok=True)
    for name, params in variants.items():
        for path in sets:
            tag = f"{path.parent.name[:8]}/{path.stem}"
            if only and not any(o in tag for o in only):
                continue
            with np.load(path, allow_pickle=False) as data:
                X, y = data["X"].astype(np.float32), data["y"].astype(int)
            for seed in seeds:
                key = f"{name}|{tag}|{seed}"
                if key in cache:
                    continue
                start = time.perf_counter()
                scores = np.asarray(scores_of(name, params, X, seed), dtype=np.float64)
                cache[key] = [float(roc_auc_score(y, scores)), time.perf_counter() - start]
                cache_path.write_text(json.dumps(cache))
                np.save(
                    OUT / "scores" / (key.replace("/", "_").replace("|", "__") + ".npy"), scores
                )
                print(key, *[round(v, 3) for v in cache[key]], flush=True)


if __name__ == "__main__":
    main()
