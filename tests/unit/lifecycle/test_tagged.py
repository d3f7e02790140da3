"""Which dbt tag is a pipeline's own: removal finds models by it only when no other pipeline's config shares it."""

from __future__ import annotations

from de_sandbox.lifecycle.layout import PipelineLayout
from de_sandbox.lifecycle.scaffold import TEMPLATES_DIR, render, write_all
from de_sandbox.lifecycle.tagged import own_tag


def test_a_tag_two_pipelines_share_is_neither_one_s(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path / "pipelines"))
    for name in ("acme_orders", "acme_refunds"):
        write_all(tmp_path, render(TEMPLATES_DIR, "files", name))
    notes: list[str] = []
    assert own_tag(PipelineLayout(tmp_path, "acme_orders"), notes) == ("acme_orders", "raw.acme_orders")
    assert notes == []

    refunds = tmp_path / "pipelines" / "acme_refunds.yml"
    refunds.write_text(refunds.read_text().replace("tag: acme_refunds", "tag: acme_orders"))
    assert own_tag(PipelineLayout(tmp_path, "acme_orders"), notes) is None
    assert notes == ["dbt: tag acme_orders is pipeline acme_refunds's too; models by folder only"]
