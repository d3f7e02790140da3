"""The exporter as a real process: it serves recorded facts, and serves them again after a restart."""

from __future__ import annotations

import pytest
import requests
from metrics_helpers import exporter_argv, free_port, running
from prometheus_client.parser import text_string_to_metric_families

from de_sandbox.metrics import facts

pytestmark = pytest.mark.integration


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_facts_survive_an_exporter_restart(tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    facts.record_ingestion("shop", "raw_orders", None, "2026-01-02", 12, 11, 1, db=db)
    port = free_port()
    argv = exporter_argv(port, db)
    url = f"http://127.0.0.1:{port}/metrics"
    with running(argv, tmp_path / "exporter-1.log", url):
        before = scrape(port)
        # a pipeline records while the exporter runs: visible at the next scrape, no restart needed
        facts.record_ingestion("shop", "raw_orders", None, "2026-01-03", 7, 7, 0, db=db)
        during = scrape(port)
    with running(argv, tmp_path / "exporter-2.log", url):
        after = scrape(port)
    key = ("de_sandbox_rows_loaded", (("pipeline", "shop"), ("table", "raw_orders")))
    total = ("de_sandbox_ingestion_rows_loaded_total", key[1])
    assert (before[key], before[total]) == (11, 11)
    assert (during[key], during[total]) == (7, 18)
    assert after == during


def test_exporter_binds_loopback_by_default(tmp_path) -> None:
    port = free_port()
    argv = [a for a in exporter_argv(port, tmp_path / "facts.sqlite") if not a.startswith("--host")]
    with running(argv, tmp_path / "exporter.log", f"http://127.0.0.1:{port}/metrics") as process:
        listening = open(f"/proc/{process.pid}/net/tcp").read().upper()
    # 0100007F is 127.0.0.1 in /proc's little-endian hex
    assert f"0100007F:{port:04X}" in listening
    assert f"00000000:{port:04X}" not in listening
