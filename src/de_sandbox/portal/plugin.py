"""The Airflow plugin (entry point `airflow.plugins`): the portal app at /sandbox and its pages in one nav menu.

Airflow imports every plugin in each task process and DAG parser too, so this module stays light: the portal
app (FastAPI routes, Airflow's auth dependencies, warehouse clients) is built on the first request it serves.
"""

from __future__ import annotations

import threading
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from de_sandbox.portal.nav import URL_PREFIX, external_views


class LazyPortalApp:
    """An ASGI app that builds `portal.app.create_app()` once, when the first request arrives."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    def app(self) -> Any:
        with self._lock:
            if self._app is None:
                from de_sandbox.portal.app import create_app

                self._app = create_app()
            return self._app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        await self.app()(scope, receive, send)


class SandboxPortalPlugin(AirflowPlugin):
    name = "de_sandbox_portal"
    fastapi_apps = [{"app": LazyPortalApp(), "url_prefix": URL_PREFIX, "name": "DE Sandbox portal"}]
    external_views = external_views()
