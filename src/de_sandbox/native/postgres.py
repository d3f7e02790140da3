"""A local PostgreSQL 15 cluster run from the installed server binaries: init, start, stop, wipe; idempotent.

`make local-up` and the test fixtures share it. As root, the cluster runs as the `postgres` OS user, which
PostgreSQL insists on; it listens on one loopback port and keeps its socket inside its own data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from de_sandbox.native.processes import check_port_free
from de_sandbox.settings import POSTGRES_SERVER_OPTIONS, Settings, postgres_url

# One schema per dbt layer, plus ops for pipeline bookkeeping.
WAREHOUSE_SCHEMAS = ("raw", "staging", "intermediate", "marts", "ops")
BOOTSTRAP_SUPERUSER = "postgres"
SERVER_USER = "postgres"
# The native server binds loopback only; the settings shared with compose's server follow.
SERVER_OPTIONS = {"listen_addresses": "127.0.0.1", **POSTGRES_SERVER_OPTIONS}


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"PostgreSQL server binary {name!r} not found (install postgresql-15)")
    return found


def reachable_tmp_dir(prefix: str) -> Path:
    """A fresh tmp folder the postgres OS user can reach (pytest's own tmp tree is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def _as_server_user(argv: list[str]) -> list[str]:
    """Postgres refuses to run as root, so root runs it as the postgres OS user."""
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True)
class LocalPostgres:
    """One cluster directory plus the role and databases the sandbox needs on it."""

    cluster_dir: Path
    port: int
    user: str
    password: str
    airflow_db: str
    warehouse_db: str
    host: str = "127.0.0.1"

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalPostgres:
        return cls(
            cluster_dir=settings.data_dir / "postgres",
            port=settings.postgres_port,
            user=settings.postgres_user,
            password=settings.postgres_password,
            airflow_db=settings.airflow_db,
            warehouse_db=settings.warehouse_db,
            host=settings.postgres_host,
        )

    @property
    def pgdata(self) -> Path:
        return self.cluster_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "postgres.log"

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return postgres_url(self.user, self.password, self.host, self.port, database, driver)

    def env(self) -> dict[str, str]:
        """The sandbox's env names for this server, ready to overlay on os.environ."""
        return {
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "AIRFLOW_DB": self.airflow_db,
            "WAREHOUSE_DB": self.warehouse_db,
        }

    def connect(self, database: str | None = None):
        """A psycopg2 connection as the sandbox role (autocommit), over TCP like every client."""
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.warehouse_db,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def is_initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        result = subprocess.run(
            _as_server_user([_binary("pg_ctl"), "status", "-D", str(self.pgdata)]),
            capture_output=True,
            text=True,
        )
        return result.returncode == 0

    def init(self) -> None:
        if self.is_initialized():
            return
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(self.cluster_dir)
        self._check_reachable_by_server_user()
        _run(
            _as_server_user(
                [
                    _binary("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    BOOTSTRAP_SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            ),
            "initdb",
        )

    def start(self, timeout: float = 30) -> None:
        """Init if needed, start if stopped, then make sure role, databases and schemas exist."""
        self.init()
        if not self.is_running():
            check_port_free(self.host, self.port, "PostgreSQL")
            options = " ".join(
                [f"-p {self.port}", f"-k {self.pgdata}"] + [f"-c {k}={v}" for k, v in SERVER_OPTIONS.items()]
            )
            _run(
                _as_server_user(
                    [
                        _binary("pg_ctl"),
                        "start",
                        "-D",
                        str(self.pgdata),
                        "-l",
                        str(self.log_file),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        str(int(timeout)),
                    ]
                ),
                "pg_ctl start",
                log_file=self.log_file,
            )
        self.provision()

    def stop(self) -> None:
        if self.is_running():
            _run(
                _as_server_user([_binary("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"]),
                "pg_ctl stop",
            )

    def wipe(self) -> None:
        self.stop()
        shutil.rmtree(self.cluster_dir, ignore_errors=True)

    def provision(self) -> None:
        """Role with the current password, both databases owned by it, one warehouse schema per layer."""
        with self._superuser_connection("postgres") as conn, conn.cursor() as cur:
            role = sql.Identifier(self.user)
            cur.execute("select 1 from pg_roles where rolname = %s", (self.user,))
            verb = sql.SQL("alter") if cur.fetchone() else sql.SQL("create")
            cur.execute(
                sql.SQL("{} role {} with login createdb password %s").format(verb, role), (self.password,)
            )
            for database in (self.airflow_db, self.warehouse_db):
                cur.execute("select 1 from pg_database where datname = %s", (database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(database), role))
        with closing(self.connect(self.warehouse_db)) as conn, conn.cursor() as cur:
            for schema in WAREHOUSE_SCHEMAS:
                cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))

    def _superuser_connection(self, database: str):
        # Over the cluster's own unix socket, which only its OS owner (and root) can reach.
        conn = psycopg2.connect(
            host=str(self.pgdata), port=self.port, user=BOOTSTRAP_SUPERUSER, dbname=database
        )
        conn.autocommit = True
        return closing(conn)

    def _check_reachable_by_server_user(self) -> None:
        if os.geteuid() != 0:
            return
        probe = subprocess.run(["runuser", "-u", SERVER_USER, "--", "test", "-w", str(self.cluster_dir)])
        if probe.returncode != 0:
            raise RuntimeError(
                f"the {SERVER_USER} OS user cannot write {self.cluster_dir}: every parent folder must be "
                "traversable (o+x); pick a DATA_DIR outside private folders such as /root or pytest's tmp"
            )


def _run(argv: list[str], what: str, log_file: Path | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        tail = ""
        if log_file is not None and log_file.is_file():
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}{tail}")
