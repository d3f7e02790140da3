"""A small client for the Airflow 3 REST API over plain HTTP: token from /auth/token, trigger a run or a backfill,
wait."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

FINISHED_STATES = ("success", "failed")


@dataclass
class AirflowApi:
    base_url: str
    username: str
    # Out of repr: a failing test's traceback prints the client (seen in `make test-backfill` output).
    password: str = field(repr=False)
    timeout: float = 60
    session: requests.Session = field(default_factory=requests.Session)

    def login(self) -> None:
        response = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=self.timeout,
        )
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(f"{self.base_url}/api/v2/{path}", params=params, timeout=self.timeout)

    def get_json(self, path: str, **params) -> dict:
        """GET under /api/v2, logging in first and once more when the token has expired."""
        if "Authorization" not in self.session.headers:
            self.login()
        response = self.get(path, **params)
        if response.status_code == 401:
            self.login()
            response = self.get(path, **params)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict:
        response = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def dag(self, dag_id: str) -> dict | None:
        response = self.get(f"dags/{dag_id}")
        return response.json() if response.ok else None

    def _poll(self, read, timeout: float, what: str):
        """Call read() until it returns something truthy; a busy api-server's timeouts only mean "not yet"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if result := read():
                    return result
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} after {timeout:.0f} s")
            time.sleep(1)

    def wait_for_dag(self, dag_id: str, timeout: float) -> float:
        """Seconds until the DAG shows up in the API (parsed and serialised by the dag-processor)."""
        started = time.monotonic()
        self._poll(lambda: self.dag(dag_id), timeout, f"DAG {dag_id} not visible")
        return time.monotonic() - started

    def trigger(self, dag_id: str, conf: dict | None = None, logical_date: str | None = None) -> str:
        """Start a run (logical date as ISO 8601, e.g. 2026-01-01T06:00:00Z; none = now); returns its run id."""
        response = self.session.post(
            f"{self.base_url}/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": logical_date, "conf": conf or {}},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        response = self.get(f"dags/{dag_id}/dagRuns/{run_id}")
        response.raise_for_status()
        return response.json()["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def finished_state() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in FINISHED_STATES else None

        return self._poll(finished_state, timeout, f"{dag_id} run {run_id} not finished")

    def clear_tasks(self, dag_id: str, run_id: str, task_ids: list[str]) -> set[str]:
        """Clear these tasks of a run, whatever their state, so each runs its next try now; returns the cleared
        task ids."""
        response = self.session.post(
            f"{self.base_url}/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": False},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return {ti["task_id"] for ti in response.json()["task_instances"]}

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        response = self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")
        response.raise_for_status()
        return {ti["task_id"]: ti["state"] for ti in response.json()["task_instances"]}

    def backfill(self, dag_id: str, from_date: str, to_date: str, max_active_runs: int) -> int:
        """Create a backfill of the DAG's intervals in [from_date, to_date] (ISO 8601); returns its id."""
        response = self.session.post(
            f"{self.base_url}/api/v2/backfills",
            json={
                "dag_id": dag_id,
                "from_date": from_date,
                "to_date": to_date,
                "max_active_runs": max_active_runs,
            },
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["id"]

    def wait_for_backfill(self, backfill_id: int, timeout: float) -> float:
        """Seconds until the backfill is completed (all its runs finished, whatever their state)."""
        started = time.monotonic()
        self._poll(
            lambda: self.get_json(f"backfills/{backfill_id}")["completed_at"],
            timeout,
            f"backfill {backfill_id} not completed",
        )
        return time.monotonic() - started
