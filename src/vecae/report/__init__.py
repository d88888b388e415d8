"""``vecae report``: one self-contained HTML page about a model, readable offline.

It shows the training and validation loss per epoch (with learning-rate changes, the best
epoch and the early stop), a 2-D PCA map of the encodings with keys on hover, the anomaly-score
histogram with the threshold and the top outliers, the evaluation tables against baselines
with bar charts, and a model card. Plots are inline SVG: no JavaScript, nothing fetched.
"""

from __future__ import annotations

from vecae.report._build import build_report, evaluation_html, evaluation_section
from vecae.report._html import write_html

__all__ = ["build_report", "evaluation_html", "evaluation_section", "write_html"]
