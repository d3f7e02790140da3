"""Charts are plain SVG with the numbers in `<title>`s, escaped; docs paths never leave their site."""

from __future__ import annotations

import pytest

from de_sandbox.portal.app import DocNotFound, safe_doc_path
from de_sandbox.portal.charts import Bar, bar_chart, freshness_chart, rate_chart


def test_bar_chart_scales_to_the_largest_bar_and_puts_numbers_in_titles():
    svg = str(
        bar_chart([Bar("a", 50, "a: 50 rows"), Bar("b<", 100, "b <script>: 100 rows", warn=True)], "rows")
    )
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    assert (
        "<title>a: 50 rows</title>" in svg and "b &lt;script&gt;: 100 rows" in svg and "<script>" not in svg
    )
    heights = [float(part.split('"')[0]) for part in svg.split('height="')[1:]]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert 'fill="#ef4444"' in svg


def test_charts_without_data_say_so():
    assert "no data yet" in bar_chart([], "x") and "no data yet" in rate_chart([], "x")
    assert "no data yet" in freshness_chart([], "x")


def test_rate_and_freshness_marks_turn_red_when_failing_or_stale():
    svg = str(rate_chart([("t1", 1.0, "all passed", 0), ("t2", 0.5, "half passed", 0)], "rate"))
    assert svg.count("<circle") == 2 and svg.count('fill="#ef4444"') == 1
    rows = [
        {
            "source": "s",
            "table": "fresh",
            "age_seconds": 10,
            "sla_seconds": 100,
            "fresh": True,
            "last_loaded_at": "x",
        },
        {
            "source": "s",
            "table": "old",
            "age_seconds": 500,
            "sla_seconds": 100,
            "fresh": False,
            "last_loaded_at": "y",
        },
    ]
    svg = str(freshness_chart(rows, "freshness"))
    assert 'fill="#10b981"' in svg and 'fill="#ef4444"' in svg and "500 s ago, SLA 100 s" in svg


def test_docs_paths_stay_inside_their_site(tmp_path):
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "sub" / "page.html").write_text("ok")
    (tmp_path / "secret").write_text("no")
    (site / "link.html").symlink_to(tmp_path / "secret")
    assert safe_doc_path(site, "sub/page.html") == (site / "sub" / "page.html").resolve()
    for evil in ("../secret", "sub/../../secret", "/etc/passwd", "link.html", "sub", "", "a\\..\\b", "./x"):
        with pytest.raises(DocNotFound, match="no such docs page"):
            safe_doc_path(site, evil)
