"""Plots as inline SVG strings: no JavaScript, no fonts or scripts fetched, nothing to install.

Each function returns one ``<svg>`` element whose marks carry ``data-role`` attributes
(``line``, ``point``, ``bar``, ``threshold``), so a browser test can check that a plot holds
data. Hover text is an SVG ``<title>``, which every browser shows as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

__all__ = ["bar_chart", "histogram", "line_chart", "scatter"]

WIDTH, HEIGHT = 640, 320
MARGIN = {"left": 64, "right": 16, "top": 30, "bottom": 44}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
HIGHLIGHT, MUTED = "#1f77b4", "#9aa5b1"


def _fmt(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = abs(value)
    if magnitude >= 1e4 or magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / n))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= n:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


class _Frame:
    """Linear (or log) mapping of data coordinates onto the plot area, plus the axes."""

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        *,
        log_y: bool = False,
        width: int = WIDTH,
        height: int = HEIGHT,
    ) -> None:
        self.width, self.height, self.log_y = width, height, log_y
        self.x0, self.x1 = _padded(*x_range, pad=0.0)
        low, high = y_range
        if log_y:
            low, high = math.log10(low), math.log10(high)
        self.y0, self.y1 = _padded(low, high, pad=0.05)
        self.left, self.right = MARGIN["left"], width - MARGIN["right"]
        self.top, self.bottom = MARGIN["top"], height - MARGIN["bottom"]

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def y(self, value: float) -> float:
        v = math.log10(value) if self.log_y else value
        return self.bottom - (v - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)

    def axes(self, x_label: str, y_label: str, *, x_ticks: bool = True) -> str:
        parts = [
            f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" y2="{self.bottom}" '
            'class="axis"/>',
            f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{self.bottom}" '
            'class="axis"/>',
        ]
        if x_ticks:
            for t in _ticks(self.x0, self.x1):
                px = self.x(t)
                parts.append(
                    f'<text x="{px:.1f}" y="{self.bottom + 16}" class="tick" '
                    f'text-anchor="middle">{_fmt(t)}</text>'
                )
        y_ticks = (
            [float(e) for e in range(math.ceil(self.y0), math.floor(self.y1) + 1)]
            if self.log_y
            else _ticks(self.y0, self.y1)
        )
        for t in y_ticks:
            value = 10**t if self.log_y else t
            py = self.bottom - (t - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)
            parts.append(
                f'<line x1="{self.left}" y1="{py:.1f}" x2="{self.right}" y2="{py:.1f}" '
                'class="grid"/>'
                f'<text x="{self.left - 6}" y="{py + 4:.1f}" class="tick" '
                f'text-anchor="end">{_fmt(value)}</text>'
            )
        parts.append(
            f'<text x="{(self.left + self.right) / 2:.1f}" y="{self.height - 6}" class="label" '
            f'text-anchor="middle">{escape(x_label)}</text>'
            f'<text x="14" y="{(self.top + self.bottom) / 2:.1f}" class="label" '
            f'text-anchor="middle" transform="rotate(-90 14 {(self.top + self.bottom) / 2:.1f})">'
            f"{escape(y_label)}</text>"
        )
        return "".join(parts)


def _padded(low: float, high: float, *, pad: float) -> tuple[float, float]:
    if not (math.isfinite(low) and math.isfinite(high)):
        return 0.0, 1.0
    if high <= low:
        return low - 0.5, high + 0.5
    span = high - low
    return low - pad * span, high + pad * span


def _svg(body: str, title: str, *, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def line_chart(
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_label: str = "epoch",
    y_label: str = "loss",
    markers: Sequence[tuple[float, str]] = (),
) -> str:
    """Lines over x = 1, 2, ... (epochs); vertical dashed markers at ``(x, label)``.

    The y axis is logarithmic when every value is positive and they span more than 20x.
    """
    finite = [v for values in series.values() for v in values if math.isfinite(v)]
    n = max((len(v) for v in series.values()), default=0)
    if not finite or n == 0:
        return _svg('<text x="20" y="40" class="label">no data</text>', title)
    low, high = min(finite), max(finite)
    log_y = low > 0 and high / low > 20
    frame = _Frame((1, max(n, 2)), (low, high), log_y=log_y)
    parts = [frame.axes(x_label, y_label + (" (log scale)" if log_y else ""))]
    for i, (x, label) in enumerate(markers):
        px = frame.x(x)
        # Labels step down so markers on nearby epochs stay readable; near the right edge
        # they sit on the line's left.
        right_half = px > (frame.left + frame.right) / 2
        anchor, tx = ("end", px - 3) if right_half else ("start", px + 3)
        ty = frame.bottom - 8 - 14 * (i % 4)
        parts.append(
            f'<g data-role="marker"><line x1="{px:.1f}" y1="{frame.top}" x2="{px:.1f}" '
            f'y2="{frame.bottom}" class="marker"><title>{escape(label)}</title></line>'
            f'<text x="{tx:.1f}" y="{ty}" text-anchor="{anchor}" class="marker-text">'
            f"{escape(label)}</text></g>"
        )
    for i, (name, values) in enumerate(series.items()):
        points = [
            f"{frame.x(j + 1):.1f},{frame.y(v):.1f}"
            for j, v in enumerate(values)
            if math.isfinite(v) and (v > 0 or not log_y)
        ]
        if not points:
            continue
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<polyline data-role="line" points="{" ".join(points)}" fill="none" '
            f'stroke="{color}" stroke-width="2"><title>{escape(name)}</title></polyline>'
            f'<text x="{frame.left + 8 + 150 * i}" y="{frame.top - 10}" '
            f'class="legend" fill="{color}">— {escape(name)}</text>'
        )
    return _svg("".join(parts), title)


def scatter(
    xy: np.ndarray,
    labels: Sequence[str],
    *,
    title: str,
    color_values: np.ndarray | None = None,
    flagged: np.ndarray | None = None,
    x_label: str = "PC 1",
    y_label: str = "PC 2",
) -> str:
    """Points with their label as hover text; colour by ``color_values`` (0 light .. 1 dark),
    ``flagged`` points drawn in red on top."""
    if len(xy) == 0:
        return _svg('<text x="20" y="40" class="label">no data</text>', title)
    frame = _Frame(
        (float(xy[:, 0].min()), float(xy[:, 0].max())),
        (float(xy[:, 1].min()), float(xy[:, 1].max())),
        height=480,
    )
    frame.x0, frame.x1 = _padded(frame.x0, frame.x1, pad=0.03)
    parts = [frame.axes(x_label, y_label)]
    order = np.arange(len(xy)) if flagged is None else np.argsort(flagged, kind="stable")
    for i in order:
        shade = 0.35 if color_values is None else 0.2 + 0.8 * float(color_values[i])
        is_flagged = flagged is not None and bool(flagged[i])
        fill = "#d62728" if is_flagged else f"rgba(31,119,180,{shade:.2f})"
        parts.append(
            f'<circle data-role="point" cx="{frame.x(float(xy[i, 0])):.1f}" '
            f'cy="{frame.y(float(xy[i, 1])):.1f}" r="{3.5 if is_flagged else 2.5}" fill="{fill}">'
            f"<title>{escape(str(labels[i]))}</title></circle>"
        )
    return _svg("".join(parts), title, height=480)


def histogram(
    values: np.ndarray,
    *,
    title: str,
    threshold: float | None = None,
    bins: int = 50,
    x_label: str = "anomaly score",
    y_label: str = "rows",
) -> str:
    """Counts per bin (log y when counts span > 100x) and the threshold as a red line."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return _svg('<text x="20" y="40" class="label">no data</text>', title)
    low, high = float(finite.min()), float(finite.max())
    if threshold is not None and math.isfinite(threshold):
        low, high = min(low, threshold), max(high, threshold)
    counts, edges = np.histogram(finite, bins=bins, range=(low, high if high > low else low + 1))
    log_y = counts.max() > 100 * max(counts[counts > 0].min(), 1)
    frame = _Frame(
        (float(edges[0]), float(edges[-1])),
        (1 if log_y else 0, float(counts.max())),
        log_y=log_y,
    )
    parts = [frame.axes(x_label, f"{y_label} (log scale)" if log_y else y_label)]
    for count, left, right in zip(counts, edges[:-1], edges[1:], strict=True):
        if count == 0:
            continue
        top = frame.y(float(count))
        parts.append(
            f'<rect data-role="bar" x="{frame.x(float(left)):.1f}" y="{top:.1f}" '
            f'width="{max(frame.x(float(right)) - frame.x(float(left)) - 1, 1):.1f}" '
            f'height="{max(frame.bottom - top, 1):.1f}" fill="{HIGHLIGHT}">'
            f"<title>{_fmt(float(left))} to {_fmt(float(right))}: {int(count)} {y_label}</title>"
            "</rect>"
        )
    if threshold is not None and math.isfinite(threshold):
        px = frame.x(threshold)
        parts.append(
            f'<line data-role="threshold" x1="{px:.1f}" y1="{frame.top}" x2="{px:.1f}" '
            f'y2="{frame.bottom}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 3">'
            f"<title>threshold {_fmt(threshold)}</title></line>"
            f'<text x="{px - 4:.1f}" y="{frame.top - 8}" text-anchor="end" '
            f'style="font-size:11px;fill:#d62728">threshold {_fmt(threshold)}</text>'
        )
    return _svg("".join(parts), title)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, highlight: str | None = None
) -> str:
    """Horizontal bars, one per label; ``highlight`` (our model) in colour, the rest grey."""
    width, row = 320, 22
    height = MARGIN["top"] + row * len(labels) + 30
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return _svg('<text x="20" y="40" class="label">no data</text>', title, width=width)
    low, high = min(0.0, *finite), max(0.0, *finite)
    left, right = 120, width - 52
    span = (high - low) or 1.0

    def px(v: float) -> float:
        return left + (v - low) / span * (right - left)

    parts = [
        f'<text x="{width / 2}" y="12" text-anchor="middle" class="label">{escape(title)}</text>',
        f'<line x1="{px(0):.1f}" y1="{MARGIN["top"]}" x2="{px(0):.1f}" '
        f'y2="{height - 24}" class="axis"/>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN["top"] + i * row + 4
        parts.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" class="tick">'
            f"{escape(label)}</text>"
        )
        if not math.isfinite(value):
            parts.append(f'<text x="{left + 4}" y="{y + 12}" class="tick">n/a</text>')
            continue
        x0, x1 = sorted((px(0), px(value)))
        fill = HIGHLIGHT if label == highlight else MUTED
        parts.append(
            f'<rect data-role="bar" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{row - 8}" fill="{fill}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text x="{max(x1, x0) + 4:.1f}" y="{y + 12}" class="tick">{_fmt(value)}</text>'
        )
    return _svg("".join(parts), title, width=width, height=height)
