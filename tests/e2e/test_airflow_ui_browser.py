"""A real browser (Playwright driving Debian's chromium) logs in, triggers the example DAG, sees success."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest

from de_sandbox.native.apt import ensure_apt_packages

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

EXAMPLE_DAG = "example_pipeline"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    ensure_apt_packages(["chromium"])
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_ui_login_trigger_and_success(native_platform, airflow_api, browser, output_dir, record_timing):
    from playwright.sync_api import expect

    airflow_api.wait_for_dag(EXAMPLE_DAG, timeout=60)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(90_000)
    try:
        page.goto(f"{native_platform.api_url}/")
        page.get_by_label("Username").fill(native_platform.admin_user)
        page.get_by_label("Password").fill(native_platform.admin_password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{native_platform.api_url}/")

        page.goto(f"{native_platform.api_url}/dags/{EXAMPLE_DAG}")
        page.get_by_role("button", name="Trigger Dag").click()
        page.get_by_role("dialog").get_by_role("button", name="Trigger").click()
        started = time.monotonic()
        page.wait_for_url(re.compile(rf".*/dags/{EXAMPLE_DAG}/runs/.+"))
        run_id = unquote(page.url.rsplit("/runs/", 1)[1])

        # The run's header: its run id heading and, beside it, the run state badge the page keeps refreshing.
        header = page.get_by_role("heading", name=run_id, exact=True).locator("xpath=..")
        expect(header).to_contain_text(re.compile("Success|Failed"), timeout=1_200_000)
        record_timing("trigger_to_success_browser", time.monotonic() - started)
        page.screenshot(path=str(output_dir / "example_run_success.png"), full_page=True)
        expect(header).to_contain_text("Success")
    except Exception:
        page.screenshot(path=str(output_dir / "failure.png"), full_page=True)
        raise
    finally:
        page.close()
    assert airflow_api.run_state(EXAMPLE_DAG, run_id) == "success"
