"""How long headless Chromium takes to render ``vecae report`` for a 100k-row model.

Usage::

    nice -n 10 .venv/bin/python benchmarks/report_render.py [--rows 100000]

Trains a VAE on the ``--rows`` most frequent GloVe 6B 50d words, builds the report with all
of them as DATA (the map samples 3000 points; the histogram and outliers use every row) and
the intrinsic evaluation, then opens it in Debian's Chromium (Selenium, headless) five times
and prints the median time to the load event (navigation timing) and the wall time of
``driver.get``, plus the file size and the time to build the HTML.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    from vecae import VariationalAutoencoder
    from vecae.datasets import load_glove
    from vecae.evaluate import evaluate
    from vecae.report import build_report, write_html

    words, vectors = load_glove(args.rows)
    X = np.array(vectors)
    model = VariationalAutoencoder(latent_dim=25, epochs=args.epochs, random_state=0).fit(X)
    evaluation = evaluate(model, X, keys=words, tasks=["intrinsic"], n_eval=2000)
    started = time.perf_counter()
    html = build_report(model, X, words, evaluation=evaluation)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = write_html(Path(tmp) / "report.html", html)
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        loads, walls = [], []
        try:
            for _ in range(5):
                driver.get("about:blank")
                started = time.perf_counter()
                driver.get(path.as_uri())
                walls.append(time.perf_counter() - started)
                # Two animation frames after load: the page has been laid out and painted.
                painted = driver.execute_async_script(
                    "const done = arguments[0];"
                    "requestAnimationFrame(() =>"
                    " requestAnimationFrame(() => done(performance.now())));"
                )
                loads.append(painted / 1000)
        finally:
            driver.quit()
    print(
        f"{args.rows:,} rows: report {len(html) / 1e6:.2f} MB built in {build_s:.2f} s; "
        f"Chromium, navigation start to the second frame after load: first (cold) load "
        f"{loads[0]:.3f} s, median of 5 {np.median(loads):.3f} s, max {max(loads):.3f} s "
        f"(driver.get wall median {np.median(walls):.3f} s); shared 2-core machine"
    )


if __name__ == "__main__":
    main()
