"""Airflow's own login on every portal route: Airflow does not authenticate plugin FastAPI apps by itself.

`require_login` is Airflow's `requires_access_view(WEBSITE)` (the JWT from `Authorization: Bearer` or the UI's
`_token` cookie, checked by the configured auth manager); a page asked for without a valid login is sent to
Airflow's login page, an API call gets Airflow's 401/403.
"""

from __future__ import annotations

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import requires_access_view
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

require_login = Depends(requires_access_view(AccessView.WEBSITE))


def wants_html(request: Request) -> bool:
    """A page (not the JSON API) asked for by a browser."""
    return "/api/" not in request.url.path and "text/html" in request.headers.get("accept", "")


def login_url(request: Request) -> str:
    """Airflow's login page, coming back to the page asked for (a path, so no open redirect)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return get_auth_manager().get_url_login(next_url=target)


def unauthenticated_handler(request: Request, error: HTTPException) -> Response:
    if error.status_code in (401, 403) and wants_html(request):
        return RedirectResponse(login_url(request), status_code=303)
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
