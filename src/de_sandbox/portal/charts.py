"""Small server-rendered SVG charts: pictures first, the exact numbers in each mark's `<title>` (shown on hover)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 560, 180, 28
PALETTE = ("#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tooltip: str
    series: int = 0
    warn: bool = False


def _frame(body: str, title: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _empty(title: str) -> Markup:
    return _frame(
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="muted">no data yet</text>', title
    )


def bar_chart(bars: list[Bar], title: str) -> Markup:
    """Vertical bars in the given order, scaled to the largest value; labels under every few bars."""
    if not bars:
        return _empty(title)
    top = max(b.value for b in bars) or 1
    slot = (WIDTH - 2 * PAD) / len(bars)
    width = max(slot * 0.8, 1)
    label_every = max(1, len(bars) // 8)
    parts = [f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>']
    parts.append(f'<text x="{PAD}" y="12" class="muted">max {top:,.0f}</text>')
    for i, bar in enumerate(bars):
        height = (HEIGHT - 2 * PAD) * bar.value / top
        x = PAD + i * slot + (slot - width) / 2
        colour = "#ef4444" if bar.warn else PALETTE[bar.series % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{width:.1f}" height="{height:.1f}"'
            f' fill="{colour}"><title>{escape(bar.tooltip)}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" class="tick">'
                f"{escape(bar.label)}</text>"
            )
    return _frame("".join(parts), title)


def rate_chart(points: list[tuple[str, float, str, int]], title: str) -> Markup:
    """Pass rates (0..1) over time as dots joined per series: (label, rate, tooltip, series)."""
    if not points:
        return _empty(title)
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    height = HEIGHT - 2 * PAD
    parts = [
        f'<line x1="{PAD}" y1="{PAD}" x2="{WIDTH - PAD}" y2="{PAD}" class="grid"/>',
        f'<text x="2" y="{PAD + 4}" class="muted">100%</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<text x="2" y="{HEIGHT - PAD + 4}" class="muted">0%</text>',
    ]
    by_series: dict[int, list[tuple[float, float]]] = {}
    for i, (_, rate, _, series) in enumerate(points):
        by_series.setdefault(series, []).append((PAD + i * step, HEIGHT - PAD - height * rate))
    for series, coords in by_series.items():
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[series]}" stroke-width="1.5"/>')
    for i, (_, rate, tooltip, series) in enumerate(points):
        colour = PALETTE[series] if rate >= 1 else "#ef4444"
        parts.append(
            f'<circle cx="{PAD + i * step:.1f}" cy="{HEIGHT - PAD - height * rate:.1f}" r="4" fill="{colour}">'
            f"<title>{escape(tooltip)}</title></circle>"
        )
    return _frame("".join(parts), title)


def freshness_chart(rows: list[dict], title: str) -> Markup:
    """One horizontal bar per source table: its age as a share of its SLA (red past the SLA)."""
    if not rows:
        return _empty(title)
    line = (HEIGHT - PAD) / len(rows)
    left = 170
    span = WIDTH - left - PAD
    parts = []
    for i, row in enumerate(rows):
        share = min(row["age_seconds"] / row["sla_seconds"], 2.0) if row["sla_seconds"] else 2.0
        y = PAD / 2 + i * line
        tooltip = (
            f"{row['source']}.{row['table']}: last loaded {row['last_loaded_at']} UTC,"
            f" {row['age_seconds']:,} s ago, SLA {row['sla_seconds']:,.0f} s"
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + line * 0.55:.1f}" text-anchor="end" class="tick">'
            f"{escape(row['source'])}.{escape(row['table'])}</text>"
            f'<rect x="{left}" y="{y + line * 0.15:.1f}" width="{span * share / 2:.1f}" height="{line * 0.6:.1f}"'
            f' fill="{"#10b981" if row["fresh"] else "#ef4444"}"><title>{escape(tooltip)}</title></rect>'
        )
    sla_x = left + span / 2
    parts.append(f'<line x1="{sla_x}" y1="0" x2="{sla_x}" y2="{HEIGHT - PAD / 2}" class="sla"/>')
    parts.append(f'<text x="{sla_x + 3}" y="{HEIGHT - 4}" class="muted">SLA</text>')
    return _frame("".join(parts), title)
