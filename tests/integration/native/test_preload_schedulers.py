"""de_sandbox.native.preload on Airflow's metadata database: a starting scheduler fails this host's dead ones."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _scheduler_job(session, hostname: str | None = None):
    from airflow.jobs.job import Job
    from airflow.utils.state import JobState

    job = Job(job_type="SchedulerJob")
    job.state = JobState.RUNNING
    if hostname:
        job.hostname = hostname
    session.add(job)
    session.flush()
    return job.id


def test_a_starting_scheduler_fails_this_hosts_running_scheduler_jobs_only(embedded_airflow):
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session

    from de_sandbox.native.preload import fail_dead_schedulers

    with create_session() as session:
        here, elsewhere = _scheduler_job(session), _scheduler_job(session, hostname="another-host")
    assert fail_dead_schedulers() >= 1
    with create_session() as session:
        assert session.get(Job, here).state == "failed"
        assert session.get(Job, elsewhere).state == "running"
        session.get(Job, elsewhere).state = "failed"  # leave no running scheduler behind for other tests
