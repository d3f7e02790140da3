"""The portal's pages and where they live: one list for the app's own tabs and for the Airflow nav entries."""

from __future__ import annotations

URL_PREFIX = "/sandbox"
MENU = "Sandbox"
PAGES = (
    ("overview", "Overview"),
    ("health", "Health"),
    ("pipelines", "Pipelines"),
    ("data", "Data"),
    ("quality", "Quality"),
    ("docs", "Docs"),
)


def external_views() -> list[dict]:
    """One nav entry per page, embedded in the Airflow UI at /plugin/sandbox-<page>, under the Sandbox menu."""
    return [
        {
            "name": label,
            "href": f"{URL_PREFIX}/{slug}",
            "url_route": f"sandbox-{slug}",
            "destination": "nav",
            "category": MENU,
        }
        for slug, label in PAGES
    ]
