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


def main() -> None:
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
