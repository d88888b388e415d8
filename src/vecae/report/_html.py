"""The page around the plots: one self-contained HTML file with inline CSS and no scripts."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["figure", "page", "section", "table", "write_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;
background:#f6f7f9}
header{background:#1b2a3a;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9d4df}
main{max-width:1080px;margin:0 auto;padding:8px 24px 48px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;margin:18px 0;
padding:4px 20px 16px}
h2{font-size:18px;margin:14px 0 6px}h3{font-size:15px;margin:14px 0 4px}
.note{color:#57606a;margin:4px 0 10px}
figure.plot{margin:8px 0;display:inline-block;vertical-align:top}
figure.plot figcaption{color:#57606a;font-size:12px;max-width:640px}
.charts{display:flex;flex-wrap:wrap;gap:8px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid #e3e7ec;padding:3px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f0f3f6}
tr.ours td{font-weight:600;background:#eef5fc}
svg .axis{stroke:#57606a;stroke-width:1}svg .grid{stroke:#e6e9ed;stroke-width:1}
svg .tick{font-size:11px;fill:#57606a}svg .label{font-size:12px;fill:#1b1f24}
svg .legend{font-size:12px;font-weight:600}
svg .marker{stroke:#8250df;stroke-width:1.5;stroke-dasharray:4 3}
svg .marker-text{font-size:11px;fill:#8250df}
svg circle:hover{stroke:#000;stroke-width:1.5}
dl.card{display:grid;grid-template-columns:max-content 1fr;gap:2px 18px;margin:6px 0}
dl.card dt{color:#57606a}dl.card dd{margin:0;font-family:ui-monospace,monospace;font-size:13px}
"""


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    """A complete HTML document: header, then the sections in order."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No scripts, styles or fonts from anywhere else: the file works offline.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def section(anchor: str, heading: str, body: str, note: str | None = None) -> str:
    """A titled block of the page."""
    intro = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<section id="{escape(anchor)}"><h2>{escape(heading)}</h2>{intro}{body}</section>'


def figure(name: str, svg: str, caption: str) -> str:
    """A plot with its caption; ``data-plot`` names it for tests and readers."""
    return (
        f'<figure class="plot" data-plot="{escape(name)}">{svg}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    return escape(str(value))


def table(rows: Sequence[dict[str, Any]], *, highlight: str | None = None) -> str:
    """An HTML table of dict rows (columns in first-seen order); the row whose ``method`` is
    ``highlight`` is emphasised."""
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, None)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        css = ' class="ours"' if highlight is not None and row.get("method") == highlight else ""
        cells = "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_html(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then a rename).

    The one place a report is written, so moving it onto the artefact layer is one change.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false, is not a regular file, or another process
        is writing it (see :mod:`vecae._artefact`).
    """
    from vecae._artefact import FileOutput

    with FileOutput(path, overwrite=overwrite) as output:
        output.temp.write_text(text, encoding="utf-8")
    target = Path(path)
    return target
