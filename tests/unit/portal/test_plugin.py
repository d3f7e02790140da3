"""The portal reaches Airflow through its plugin entry point: declared, resolvable, in the wheel the image installs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points

import pytest

from de_sandbox.portal import nav
from de_sandbox.settings import REPO_ROOT

ENTRY_POINT = "de_sandbox.portal.plugin:SandboxPortalPlugin"


def test_the_plugin_entry_point_is_declared_and_resolves_to_the_portal_plugin():
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared["airflow.plugins"] == {"de_sandbox_portal": ENTRY_POINT}
    (installed,) = [e for e in entry_points(group="airflow.plugins") if e.name == "de_sandbox_portal"]
    plugin = installed.load()
    assert installed.value == ENTRY_POINT and plugin.name == "de_sandbox_portal"
    (app,) = plugin.fastapi_apps
    assert app["url_prefix"] == "/sandbox"
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES

    assert not any(app["url_prefix"].startswith(prefix) for prefix in RESERVED_URL_PREFIXES)


def test_every_page_has_a_nav_entry_under_one_sandbox_menu_and_a_route():
    from de_sandbox.portal.app import create_app
    from de_sandbox.portal.plugin import SandboxPortalPlugin

    views = SandboxPortalPlugin.external_views
    assert {v["category"] for v in views} == {"Sandbox"}
    assert [v["name"] for v in views] == [label for _, label in nav.PAGES]
    routes = {route.path for route in create_app().routes}
    for view in views:
        assert view["href"].removeprefix("/sandbox") in routes
        assert view["url_route"] == "sandbox-" + view["href"].rsplit("/", 1)[1]


def test_importing_the_plugin_does_not_build_the_app():
    """Every task process imports every plugin: the portal's app and clients load on its first request."""
    code = (
        "import sys; import de_sandbox.portal.plugin as p; "
        "assert 'de_sandbox.portal.app' not in sys.modules, 'app imported'; "
        "assert 'airflow.api_fastapi.core_api.security' not in sys.modules, 'auth imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, timeout=300)


@pytest.mark.integration
def test_the_wheel_the_image_installs_carries_templates_styles_and_the_entry_point(tmp_path):
    """The Dockerfile runs `uv pip install .` (a wheel build), so the plugin comes along only if hatch packs it."""
    dockerfile = (REPO_ROOT / "docker" / "airflow" / "Dockerfile").read_text()
    assert (
        "COPY --chown=airflow:0 src ./src" in dockerfile
        and "uv pip install --no-cache --no-deps ." in dockerfile
    )
    uv = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    subprocess.run(
        [uv, "build", "--wheel", "-q", "-o", str(tmp_path), str(REPO_ROOT)], check=True, timeout=300
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points_txt = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    templates = {p.name for p in (REPO_ROOT / "src/de_sandbox/portal/templates").glob("*.html")}
    assert {f"de_sandbox/portal/templates/{name}" for name in templates} <= names
    assert "de_sandbox/portal/static/portal.css" in names
    assert f"de_sandbox_portal = {ENTRY_POINT}" in entry_points_txt
