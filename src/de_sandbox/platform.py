"""The native long-running platform: PostgreSQL plus Airflow api-server, scheduler, dag-processor, triggerer.

Every service is a `ServiceSpec` started in its own process group, with pid file and log under DATA_DIR,
bound to 127.0.0.1. `make local-up` / `local-down` / `local-clean` call `up()`, `down()` and `clean()`.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from de_sandbox.airflow_env import airflow_env
from de_sandbox.dbt_project import dbt_executable, ensure_manifest
from de_sandbox.ports import LOOPBACK, check_port_free, free_port, is_listening
from de_sandbox.postgres import LocalPostgres
from de_sandbox.settings import REPO_ROOT, Settings, env_flag, get_ingestion_settings, get_settings

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH_TIMEOUT_S = 120
STOP_TIMEOUT_S = 20


@dataclass(frozen=True)
class ServiceSpec:
    """One long-running process: how to start it and how to tell it is healthy."""

    name: str
    argv: list[str]
    health: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    url: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Platform:
    """Paths and settings of one native platform instance (one DATA_DIR)."""

    settings: Settings
    airflow_port: int
    admin_user: str
    admin_password: str
    fernet_key: str
    jwt_secret: str
    dags_folder: Path
    prometheus_port: int = field(default_factory=lambda: int(os.getenv("PROMETHEUS_PORT", "9090")))
    exporter_port: int = field(default_factory=lambda: int(os.getenv("EXPORTER_PORT", "9108")))
    minio_endpoint: str = field(default_factory=lambda: get_ingestion_settings().minio_endpoint)
    # SCHEDULER_PRELOAD=false starts a plain `airflow scheduler` (tasks then import dbt themselves).
    scheduler_preload: bool = field(default_factory=lambda: env_flag("SCHEDULER_PRELOAD", True))

    @classmethod
    def from_settings(cls, settings: Settings | None = None, dags_folder: Path | None = None) -> Platform:
        settings = settings or get_settings()
        return cls(
            settings=settings,
            airflow_port=int(os.getenv("AIRFLOW_PORT", "8080")),
            admin_user=os.getenv("AIRFLOW_ADMIN_USER", "admin"),
            admin_password=_required("AIRFLOW_ADMIN_PASSWORD"),
            fernet_key=_required("AIRFLOW_FERNET_KEY"),
            jwt_secret=_required("AIRFLOW_JWT_SECRET"),
            dags_folder=dags_folder or settings.repo_root / "dags",
        )

    @classmethod
    def throwaway(cls, data_dir: Path, warehouse: str = "postgres") -> Platform:
        """A private platform under `data_dir` on free ports with fresh secrets, beside any other one: for tests
        and benchmarks. The DAGs and the GX context are copies, so nothing is written into the repository."""
        dags_folder = data_dir / "dags"
        shutil.copytree(REPO_ROOT / "dags", dags_folder, ignore=shutil.ignore_patterns("__pycache__"))
        gx_root = shutil.copytree(
            REPO_ROOT / "great_expectations", data_dir / "gx", ignore=shutil.ignore_patterns("uncommitted")
        )
        settings = dataclasses.replace(
            get_settings(),
            data_dir=data_dir,
            gx_root_dir=gx_root,
            warehouse=warehouse,
            duckdb_path=data_dir / "warehouse.duckdb",
            postgres_host=LOOPBACK,
            postgres_port=free_port(),
            postgres_user="sandbox",
            postgres_password=secrets.token_urlsafe(16),
        )
        return cls(
            settings=settings,
            airflow_port=free_port(),
            admin_user="admin",
            admin_password=secrets.token_urlsafe(12),
            fernet_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            jwt_secret=secrets.token_urlsafe(32),
            dags_folder=dags_folder,
            prometheus_port=free_port(),
            exporter_port=free_port(),
            minio_endpoint=f"{LOOPBACK}:{free_port()}",
        )

    @property
    def postgres(self) -> LocalPostgres:
        return LocalPostgres.from_settings(self.settings)

    @property
    def airflow_home(self) -> Path:
        return self.settings.data_dir / "airflow"

    @property
    def run_dir(self) -> Path:
        return self.settings.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.airflow_port}"

    def env(self) -> dict[str, str]:
        """Environment of every Airflow process: the shared Airflow env plus the server settings."""
        s = self.settings
        passwords_file = self.airflow_home / "simple_auth_manager_passwords.json"
        return {
            **os.environ,
            **airflow_env(s, self.airflow_home, self.postgres.url(s.airflow_db)),
            **self.postgres.env(),
            "SEEDS_DIR": str(s.seeds_dir),
            "MINIO_ENDPOINT": self.minio_endpoint,
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # Sized for a laptop: a handful of task processes beside dbt and the databases.
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.admin_user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.airflow_port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self.jwt_secret,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            # New DAG files show up within seconds; changed files are re-parsed every 10 s.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }

    def services(self) -> list[ServiceSpec]:
        return [spec for build in _service_builders() for spec in build(self)]


def airflow_services(platform: Platform) -> list[ServiceSpec]:
    airflow = str(Path(sys.executable).parent / "airflow")
    health_url = f"{platform.api_url}/api/v2/monitor/health"

    def component_healthy(key: str) -> Callable[[], bool]:
        return lambda: _json(health_url).get(key, {}).get("status") == "healthy"

    return [
        ServiceSpec(
            "api-server",
            [airflow, "api-server", "--host", LOOPBACK, "--port", str(platform.airflow_port)],
            component_healthy("metadatabase"),
            ports=(platform.airflow_port,),
            url=platform.api_url,
        ),
        # Tasks are forked from the scheduler's executor workers: preloading dbt saves each task ~5 s.
        ServiceSpec(
            "scheduler",
            [
                *([sys.executable, "-m", "de_sandbox.preload"] if platform.scheduler_preload else [airflow]),
                *["scheduler", "--skip-serve-logs"],
            ],
            component_healthy("scheduler"),
        ),
        ServiceSpec("dag-processor", [airflow, "dag-processor"], component_healthy("dag_processor")),
        ServiceSpec("triggerer", [airflow, "triggerer", "--skip-serve-logs"], component_healthy("triggerer")),
    ]


def _service_builders() -> list[Callable[[Platform], list[ServiceSpec]]]:
    """Each entry adds the services of one part of the platform; append a builder to add a part."""
    from de_sandbox.ingestion.s3_standin import object_store_services
    from de_sandbox.metrics.native import monitoring_services

    return [airflow_services, object_store_services, monitoring_services]


def _required(name: str) -> str:
    value = os.getenv(name, "")
    if not value or value == "change-me":
        raise RuntimeError(f"{name} is not set: set it in .env (`de-sandbox init-env` writes one if missing)")
    return value


def _json(url: str) -> dict:
    try:
        response = requests.get(url, timeout=2)
        return response.json() if response.ok else {}
    except (requests.RequestException, ValueError):
        return {}


@dataclass(frozen=True)
class RunningProcess:
    """A pid file's content: pid plus kernel start time, so a recycled pid is never mistaken for ours."""

    pid: int
    start_ticks: int

    @classmethod
    def read(cls, pid_file: Path) -> RunningProcess | None:
        try:
            pid, ticks = pid_file.read_text().split()
            proc = cls(int(pid), int(ticks))
        except (OSError, ValueError):
            return None
        return proc if proc.alive() else None

    @staticmethod
    def start_ticks_of(pid: int) -> int | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # Fields after the parenthesised command name: state is field 3, starttime field 22 of the whole line.
        fields = stat.rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])

    def alive(self) -> bool:
        return self.start_ticks_of(self.pid) == self.start_ticks

    def group_members(self) -> list[int]:
        """Every live process in this process group (the service and all it forked)."""
        members = []
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.pid and fields[0] != "Z":
                members.append(int(stat_file.parent.name))
        return members


class Supervisor:
    """Starts, health-checks and stops the services of one platform through pid files under DATA_DIR."""

    def __init__(self, platform: Platform):
        self.platform = platform

    def pid_file(self, name: str) -> Path:
        return self.platform.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.platform.log_dir / f"{name}.log"

    def running(self, name: str) -> RunningProcess | None:
        return RunningProcess.read(self.pid_file(name))

    def start(self, spec: ServiceSpec, env: dict[str, str]) -> bool:
        """Start one service unless it already runs; True when it was started now."""
        if self.running(spec.name):
            return False
        for port in spec.ports:
            check_port_free(LOOPBACK, port, spec.name)
        log = self.log_file(spec.name)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                spec.argv,
                env={**env, **spec.env},
                cwd=self.platform.settings.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        ticks = RunningProcess.start_ticks_of(proc.pid)
        self.pid_file(spec.name).write_text(f"{proc.pid} {ticks}\n")
        return True

    def stop(self, names: list[str]) -> None:
        """SIGTERM every named service's process group at once, SIGKILL what is left after STOP_TIMEOUT_S."""
        running = {name: proc for name in names if (proc := self.running(name)) is not None}
        procs = list(running.values())
        for proc in procs:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(proc.group_members() for proc in procs) and time.monotonic() < deadline:
            time.sleep(0.2)
        for name, proc in running.items():
            if proc.group_members():
                print(
                    f"[de-sandbox] {name} still running {STOP_TIMEOUT_S} s after SIGTERM: killing it",
                    flush=True,
                )
                _signal_group(proc.pid, signal.SIGKILL)
        while any(proc.group_members() for proc in procs) and time.monotonic() < deadline + 5:
            time.sleep(0.1)
        for name in names:
            self.pid_file(name).unlink(missing_ok=True)

    def wait_healthy(self, specs: list[ServiceSpec], timeout: float) -> None:
        """Poll each service's health; fail naming the service, with its log tail, if it dies or stalls."""
        pending = {spec.name: spec for spec in specs}
        started = time.monotonic()
        deadline = started + timeout
        while pending:
            for name, spec in list(pending.items()):
                if self.running(name) is None:
                    raise RuntimeError(f"{name} exited during start-up\n{self.log_tail(name)}")
                if spec.health():
                    pending.pop(name)
                    print(f"[de-sandbox] {name} healthy after {time.monotonic() - started:.1f} s", flush=True)
            if pending and time.monotonic() > deadline:
                name = next(iter(pending))
                raise RuntimeError(f"{name} not healthy after {timeout:.0f} s\n{self.log_tail(name)}")
            if pending:
                time.sleep(0.5)

    def log_tail(self, name: str, lines: int = 30) -> str:
        log = self.log_file(name)
        text = log.read_text(errors="replace") if log.is_file() else ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {log} ---\n{tail}"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def prepare_airflow(platform: Platform, env: dict[str, str]) -> None:
    """Migrate the metadata DB (once per Airflow version), create the pools, write the login file."""
    home = platform.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    passwords = home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({platform.admin_user: platform.admin_password}) + "\n")
    passwords.chmod(0o600)
    stamp = home / "migrated-to"
    version = _airflow_version()
    if stamp.is_file() and stamp.read_text().strip() == version and _metadata_db_exists(platform):
        return
    # DuckDB allows one writer process: tasks touching the file queue on a one-slot pool.
    script = (
        "from airflow.utils.db import upgradedb; from airflow.models.pool import Pool; upgradedb(); "
        "from de_sandbox.dbt_cosmos import DUCKDB_POOL; "
        "Pool.create_or_update_pool(DUCKDB_POOL, 1, 'DuckDB: one writer process', include_deferred=False)"
    )
    log = platform.log_dir / "airflow-migrate.log"
    with log.open("ab") as out:
        result = subprocess.run([sys.executable, "-c", script], env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"airflow metadata migration failed\n--- {log} ---\n{tail}")
    stamp.write_text(version + "\n")


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def _metadata_db_exists(platform: Platform) -> bool:
    from contextlib import closing

    with closing(platform.postgres.connect(platform.settings.airflow_db)) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('public.alembic_version') is not null")
        return bool(cur.fetchone()[0])


def up(platform: Platform, timeout: float = HEALTH_TIMEOUT_S) -> float:
    """Start everything that is not running yet and wait until all is healthy; returns the seconds it took."""
    started_at = time.monotonic()
    for folder in (platform.run_dir, platform.log_dir, platform.airflow_home):
        folder.mkdir(parents=True, exist_ok=True)
    platform.postgres.start()
    env = platform.env()
    prepare_airflow(platform, env)
    # The example DAG renders from the dbt manifest: parse before the dag-processor first reads it.
    ensure_manifest(platform.settings, dbt_executable())
    supervisor = Supervisor(platform)
    specs = platform.services()
    started = [spec.name for spec in specs if supervisor.start(spec, env)]
    try:
        supervisor.wait_healthy(specs, timeout)
    except BaseException:
        supervisor.stop(started)
        raise
    return time.monotonic() - started_at


def down(platform: Platform) -> None:
    """Stop every service this DATA_DIR started, then PostgreSQL."""
    Supervisor(platform).stop([spec.name for spec in platform.services()])
    platform.postgres.stop()


def clean(platform: Platform) -> None:
    """Stop everything and delete its state: databases, DuckDB file, Airflow home, dbt artefacts, logs."""
    down(platform)
    platform.postgres.wipe()
    data_dir = platform.settings.data_dir
    cosmos_cache = Path(platform.env()["AIRFLOW__COSMOS__CACHE_DIR"])
    for folder in (
        platform.airflow_home,
        platform.run_dir,
        platform.log_dir,
        data_dir / "dbt",
        cosmos_cache,
        data_dir / "prometheus",
        data_dir / "metrics",
    ):
        shutil.rmtree(folder, ignore_errors=True)
    duckdb_path = platform.settings.duckdb_path
    for path in (duckdb_path, duckdb_path.with_name(duckdb_path.name + ".wal")):
        path.unlink(missing_ok=True)


def status(platform: Platform) -> dict[str, bool]:
    supervisor = Supervisor(platform)
    result = {"postgres": platform.postgres.is_running()}
    result.update({spec.name: supervisor.running(spec.name) is not None for spec in platform.services()})
    return result


def summary(platform: Platform, seconds: float | None = None) -> str:
    s = platform.settings
    rows = [
        ("Airflow UI", platform.api_url, f"login {platform.admin_user} / {platform.admin_password}"),
        ("Airflow REST API", f"{platform.api_url}/api/v2", "token: POST /auth/token"),
        ("PostgreSQL", f"{s.postgres_host}:{s.postgres_port}", f"user {s.postgres_user} (password in .env)"),
        (
            "  databases",
            f"{s.airflow_db} (Airflow), {s.warehouse_db} (warehouse)",
            f"WAREHOUSE={s.warehouse}",
        ),
        ("Logs, pid files", str(platform.log_dir), str(platform.run_dir)),
    ]
    rows += [
        (spec.name, spec.url, spec.note)
        for spec in platform.services()
        if spec.url and spec.url != platform.api_url
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {name:<{width}}  {where}  {note}".rstrip() for name, where, note in rows]
    header = "native platform is up" + (f" (healthy after {seconds:.1f} s)" if seconds is not None else "")
    return "\n".join([header, *lines])


def _cmd_up(args: argparse.Namespace) -> int:
    from de_sandbox.envfile import ensure_env_file

    ensure_env_file()
    platform = Platform.from_settings()
    seconds = up(platform, timeout=args.timeout)
    print(summary(platform, seconds), flush=True)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    platform = Platform.from_settings()
    down(platform)
    leftovers = [spec.name for spec in platform.services() for p in spec.ports if is_listening(p)]
    print("native platform stopped" + (f"; still listening: {leftovers}" if leftovers else ""), flush=True)
    return 1 if leftovers else 0


def _cmd_clean(args: argparse.Namespace) -> int:
    clean(Platform.from_settings())
    print("native platform stopped and its data wiped", flush=True)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    states = status(Platform.from_settings())
    for name, running in states.items():
        print(f"  {name:<14} {'running' if running else 'stopped'}")
    return 0 if all(states.values()) else 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("local-up", help="start the native platform (PostgreSQL + Airflow)")
    parser.add_argument("--timeout", type=float, default=HEALTH_TIMEOUT_S, help="seconds to wait for health")
    parser.set_defaults(func=_cmd_up)
    subparsers.add_parser("local-down", help="stop every process of the native platform").set_defaults(
        func=_cmd_down
    )
    subparsers.add_parser("local-clean", help="stop the native platform and wipe its data").set_defaults(
        func=_cmd_clean
    )
    subparsers.add_parser("local-status", help="show which native services run").set_defaults(
        func=_cmd_status
    )
