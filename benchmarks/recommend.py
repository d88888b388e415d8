"""Recommendation quality: vecae's EASE and Mult-DAE recommenders against most-popular and item-kNN.

(``benchmarks/peers.py --part recommend`` runs the same data, and MovieLens-100k, against EASE
as published and implicit's ALS and item-kNN as well.)

Usage (from the repository root, offline)::

    .venv/bin/python benchmarks/recommend.py [--seeds 0 1] [--threads 2] [--data DIR]

No public user-item interaction log is available offline here, so this uses a real stand-in
with the same shape: AG News test descriptions (Zhang et al. 2015; 7,600 documents) as
"users", and the words they contain (document frequency between 5 and 20% of documents) as
the "items" they interacted with. It is read from ``../shared/data/classification/ag_news``
(``--data`` or ``VECAE_BENCH_DATA`` override). The protocol is Liang et al. (2018): 10% of
users held out; 20% of each held-out user's items are the targets, the rest are folded in;
Recall@20 and NDCG@100 on the targets. Every method is fitted on the training users only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

from vecae.recommend import InteractionMatrix, compare_recommenders

ROOT = Path(__file__).resolve().parents[1]


def ag_news_bags(data: Path) -> InteractionMatrix:
    path = data / "classification/ag_news/test.tsv"
    if not path.exists():
        sys.exit(f"missing benchmark data: {path} (pass --data DIR or set VECAE_BENCH_DATA)")
    lines = path.read_text(encoding="utf-8").splitlines()
    docs = [set(re.findall(r"[a-z]+", line.split("\t")[0].lower())) for line in lines]
    frequency = Counter(word for doc in docs for word in doc)
    vocabulary = {w for w, c in frequency.items() if 5 <= c <= 0.2 * len(docs)}
    users, items = [], []
    for i, doc in enumerate(docs):
        for word in sorted(doc & vocabulary):
            users.append(f"doc{i}")
            items.append(word)
    return InteractionMatrix.from_pairs(users, items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    default_data = os.environ.get("VECAE_BENCH_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data))
    args = parser.parse_args()

    interactions = ag_news_bags(args.data)
    print(
        f"{interactions.n_users} users x {interactions.n_items} items, "
        f"{interactions.matrix.nnz} interactions"
    )
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in args.seeds:
        for row in compare_recommenders(interactions, random_state=seed, n_threads=args.threads):
            results.setdefault(str(row["method"]), []).append(
                (float(row["recall@20"]), float(row["ndcg@100"]))
            )
    print(f"\n| method | Recall@20 | NDCG@100 |  (mean of seeds {args.seeds})")
    print("|---|---|---|")
    for method, values in results.items():
        recall = statistics.mean(v[0] for v in values)
        ndcg = statistics.mean(v[1] for v in values)
        print(f"| {method} | {recall:.4f} | {ndcg:.4f} |")


if __name__ == "__main__":
    main()
