"""The portal as a FastAPI app (mounted at /sandbox on Airflow's api-server): server-rendered pages and a JSON API.

Every route depends on Airflow's login (`auth.require_login`). Settings are read per request, so the app follows
the environment of the api-server it runs in; tests pass their own `settings` and facts store instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from de_sandbox.dbt.project import artifacts_dir
from de_sandbox.portal import catalog, charts, reports
from de_sandbox.portal.auth import require_login, unauthenticated_handler, wants_html
from de_sandbox.portal.catalog import MAX_PAGE_ROWS, NotFound, WarehouseBusy
from de_sandbox.portal.health import service_states
from de_sandbox.portal.nav import PAGES
from de_sandbox.settings import Settings, get_monitoring_settings, get_settings

PACKAGE_DIR = Path(__file__).parent
DEFAULT_PAGE_ROWS = 100


class DocNotFound(NotFound):
    """A docs file that is not part of the generated site (or not generated yet)."""


def gx_docs_root(settings: Settings) -> Path:
    """Where GX writes its local Data Docs site (`quality.validate.data_docs_index` is its index.html)."""
    return settings.gx_root_dir / "uncommitted" / "data_docs" / "local_site"


def dbt_docs_file(settings: Settings) -> Path:
    """The single-file dbt docs site `dbt.project.generate_docs` writes."""
    return artifacts_dir(settings) / "docs" / "static_index.html"


def safe_doc_path(root: Path, relative: str) -> Path:
    """`relative` inside `root`, or DocNotFound: no `..`, no absolute paths, no symlinks out of the site."""
    if not relative or relative.startswith("/") or "\\" in relative or "\0" in relative:
        raise DocNotFound(f"no such docs page: {relative!r}")
    if any(part in ("..", ".") for part in relative.split("/")):
        raise DocNotFound(f"no such docs page: {relative!r} (paths may not leave the docs site)")
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise DocNotFound(f"no such docs page: {relative!r}")
    return path


def create_app(
    settings: Callable[[], Settings] = get_settings,
    facts_db: Callable[[], Path] = lambda: get_monitoring_settings().metrics_db_path,
) -> FastAPI:
    app = FastAPI(
        title="DE Sandbox portal",
        dependencies=[require_login],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")

    def page(
        request: Request, template: str, active: str, status_code: int = 200, **context: Any
    ) -> Response:
        started = time.perf_counter()
        body = templates.get_template(template).render(
            request=request, pages=PAGES, active=active, base=_base(request), **context
        )
        return HTMLResponse(
            body,
            status_code=status_code,
            headers={"Server-Timing": f"render;dur={(time.perf_counter() - started) * 1000:.1f}"},
        )

    def problem(request: Request, status_code: int, message: str, headers: dict | None = None) -> Response:
        if wants_html(request):
            response = page(request, "error.html", "", status_code=status_code, message=message)
            response.headers.update(headers or {})
            return response
        return JSONResponse({"detail": message}, status_code=status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code in (401, 403):
            return unauthenticated_handler(request, error)
        if error.status_code == 404 and error.detail == "Not Found":
            return problem(request, 404, f"no such page: {request.url.path}")
        return problem(request, error.status_code, str(error.detail))

    @app.exception_handler(NotFound)
    def not_found(request: Request, error: NotFound) -> Response:
        return problem(request, 404, str(error))

    @app.exception_handler(WarehouseBusy)
    def busy(request: Request, error: WarehouseBusy) -> Response:
        return problem(request, 503, str(error), headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    def bad_input(request: Request, error: RequestValidationError) -> Response:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return problem(request, 422, f"bad input: {fields}")

    @app.exception_handler(catalog.QueryTimeout)
    def timeout(request: Request, error: catalog.QueryTimeout) -> Response:
        return problem(request, 504, str(error))

    # JSON API

    @app.get("/api/health")
    def api_health() -> dict:
        return {
            "services": [
                {"name": s.name, "status": s.status, "detail": s.detail} for s in service_states(settings())
            ]
        }

    @app.get("/api/tables")
    def api_tables() -> dict:
        current = settings()
        with catalog.read_only(current) as connection:
            tables = catalog.list_tables(connection)
        return {
            "warehouse": current.warehouse,
            "tables": [{"schema": t.schema, "name": t.name, "kind": t.kind, "rows": t.rows} for t in tables],
        }

    @app.get("/api/tables/{schema}/{name}")
    def api_table(
        schema: str, name: str, limit: int = Query(DEFAULT_PAGE_ROWS), offset: int = Query(0, ge=0)
    ) -> dict:
        with catalog.read_only(settings()) as connection:
            return catalog.table_page(connection, schema, name, limit, offset)

    @app.get("/api/pipelines")
    def api_pipelines() -> dict:
        with catalog.read_only(settings()) as connection:
            return {"pipelines": reports.pipelines(connection), "quarantine": reports.quarantine(connection)}

    @app.get("/api/quality")
    def api_quality() -> dict:
        return reports.quality(facts_db())

    # Pages

    @app.get("/", response_class=HTMLResponse)
    @app.get("/overview", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        with catalog.read_only(settings()) as connection:
            pipelines = reports.pipelines(connection, windows=24)
        quality = reports.quality(facts_db())
        return page(request, "overview.html", "overview", **overview_charts(pipelines, quality))

    @app.get("/health", response_class=HTMLResponse)
    def health(request: Request) -> Response:
        return page(request, "health.html", "health", services=service_states(settings()))

    @app.get("/pipelines", response_class=HTMLResponse)
    def pipelines(request: Request) -> Response:
        with catalog.read_only(settings()) as connection:
            found = reports.pipelines(connection)
            quarantine = reports.quarantine(connection)
        return page(
            request,
            "pipelines.html",
            "pipelines",
            pipelines=found,
            quarantine=quarantine,
            phases=reports.PHASES,
        )

    @app.get("/data", response_class=HTMLResponse)
    def data(request: Request) -> Response:
        current = settings()
        with catalog.read_only(current) as connection:
            tables = catalog.list_tables(connection)
        schemas: dict[str, list] = {}
        for table in tables:
            schemas.setdefault(table.schema, []).append(table)
        return page(request, "data.html", "data", warehouse=current.warehouse, schemas=schemas)

    @app.get("/data/{schema}/{name}", response_class=HTMLResponse)
    def table(
        request: Request,
        schema: str,
        name: str,
        limit: int = Query(DEFAULT_PAGE_ROWS),
        offset: int = Query(0, ge=0),
    ) -> Response:
        limit = catalog.clamp_limit(limit)
        with catalog.read_only(settings()) as connection:
            found = catalog.table_page(connection, schema, name, limit, offset)
        return page(
            request,
            "table.html",
            "data",
            schema=schema,
            name=name,
            limit=limit,
            offset=offset,
            max_rows=MAX_PAGE_ROWS,
            **found,
        )

    @app.get("/quality", response_class=HTMLResponse)
    def quality(request: Request) -> Response:
        found = reports.quality(facts_db())
        chart = charts.rate_chart(_rate_points(found["history"]), "Pass rate per run")
        freshness = charts.freshness_chart(found["freshness"], "Freshness per source")
        return page(request, "quality.html", "quality", quality=found, chart=chart, freshness=freshness)

    @app.get("/static/{relative:path}")
    def static(relative: str) -> Response:
        # A route, not a StaticFiles mount: mounts would skip the app's login dependency.
        return FileResponse(
            safe_doc_path(PACKAGE_DIR / "static", relative), headers={"Cache-Control": "private"}
        )

    @app.get("/docs", response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        current = settings()
        return page(
            request,
            "docs.html",
            "docs",
            dbt_ready=dbt_docs_file(current).is_file(),
            gx_ready=(gx_docs_root(current) / "index.html").is_file(),
        )

    @app.get("/docs/dbt/")
    def dbt_docs() -> Response:
        path = dbt_docs_file(settings())
        if not path.is_file():
            raise DocNotFound(
                "the dbt docs are not generated yet: run the example_pipeline DAG (its dbt_docs task builds them)"
            )
        return FileResponse(path, media_type="text/html")

    @app.get("/docs/gx/{relative:path}")
    def gx_docs(relative: str) -> Response:
        root = gx_docs_root(settings())
        if not (root / "index.html").is_file():
            raise DocNotFound("the GX Data Docs are not built yet: a validation run builds them")
        return FileResponse(safe_doc_path(root, relative or "index.html"))

    return app


def _base(request: Request) -> str:
    """The mount prefix (/sandbox on the api-server), so links work wherever the app is mounted."""
    return request.scope.get("root_path", "").rstrip("/")


def _rate_points(history: list[dict]) -> list[tuple[str, float, str, int]]:
    return [
        (
            h["when"],
            h["rate"],
            f"{h['kind']} {h['what']} at {h['when']} UTC: {h['passed']}/{h['total']} passed",
            0 if h["kind"] == "dbt" else 1,
        )
        for h in history
        if h["rate"] is not None
    ]


def overview_charts(pipelines: list[dict], quality: dict) -> dict[str, Any]:
    """The overview's four pictures plus the few numbers beside them."""
    loaded, durations = [], []
    for series, pipeline in enumerate(pipelines):
        for window in reversed(pipeline["windows"]):
            label = window["window_start"][5:16]
            who = f"{pipeline['pipeline']} {window['window_start']}"
            loaded.append(
                charts.Bar(
                    label,
                    window["rows_stage"] or 0,
                    f"{who}: {window['rows_stage'] or 0:,} rows loaded, {window['rows_quarantined'] or 0:,}"
                    f" quarantined ({window['status']})",
                    series,
                    warn=window["status"] == "failed",
                )
            )
            durations.append(
                charts.Bar(
                    label,
                    window["duration_seconds"],
                    f"{who}: {window['duration_seconds']:.1f} s over {len(window['phases'])} phases,"
                    f" {window['attempts']} attempt(s)",
                    series,
                    warn=window["status"] == "failed",
                )
            )
    history = quality["history"]
    checks = [h for h in history if h["total"]]
    passed = sum(h["passed"] for h in checks)
    total = sum(h["total"] for h in checks)
    return {
        "pipelines": pipelines,
        "loaded_chart": charts.bar_chart(loaded, "Rows loaded per window"),
        "duration_chart": charts.bar_chart(durations, "Run duration per window (s)"),
        "quality_chart": charts.rate_chart(_rate_points(history), "Quality pass rate over time"),
        "freshness_chart": charts.freshness_chart(quality["freshness"], "Freshness per source"),
        "totals": {
            "windows": sum(len(p["windows"]) for p in pipelines),
            "rows_loaded": sum(w["rows_stage"] or 0 for p in pipelines for w in p["windows"]),
            "failed": sum(w["status"] == "failed" for p in pipelines for w in p["windows"]),
            "pass_rate": f"{passed / total:.0%}" if total else "n/a",
            "stale_sources": sum(not f["fresh"] for f in quality["freshness"]),
        },
    }
