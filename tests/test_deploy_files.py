"""The deployment files, checked without Docker: Dockerfile, .dockerignore, deploy/compose.yaml,
deploy/.env.example, deploy/Caddyfile and the commands docs/deploy.md gives.

What they name must exist in this repository and this package: settings, `tds` commands and
their options, queues, Dockerfile stages and copied paths, the services that URLs point at. No
Docker engine runs here, so the images are not built; `docker compose config`, `hadolint` and
`caddy validate` were run on the files by hand when they were written.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from tds.cli.main import app
from tds.config import Settings
from tds.dispatch import queues
from tds.engines.diffusion.config import DiffusionConfig
from tds.engines.preview.enhance import UPSCALER_ENV
from tds.engines.remote.config import RemoteConfig

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
CADDYFILE = DEPLOY / "Caddyfile"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

# The services the brief of the stack needs, each with a health check.
CORE_SERVICES = ("api", "worker", "postgres", "redis")


# -- reading the files ------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def tds_services() -> dict[str, dict[str, Any]]:
    """The services that run an image built from this repository's Dockerfile."""
    return {name: spec for name, spec in services().items() if "build" in spec}


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not NAME=value: {line!r}"
            values[name] = value
    return values


def filled_env() -> dict[str, str]:
    """deploy/.env as an operator fills it: the example, with a value for each empty secret."""
    return {name: value or f"filled-{name.lower()}" for name, value in env_example().items()}


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: $$, ${NAME}, ${NAME:-default}, ${NAME-default},
    ${NAME:?error} and ${NAME?error}, defaults nesting ${…} and braces of their own."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            value, i = _substitute(text, i + 2, env)
            out.append(value)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _substitute(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, i)
    assert match, f"bad variable at {text[i:]!r}"
    name, i = match.group(), match.end()
    operator = next((op for op in (":-", ":?", "-", "?") if text.startswith(op, i)), "")
    i += len(operator)
    start, depth = i, 0
    while text[i] != "}" or depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    argument = text[start:i]
    value = env.get(name)
    present = bool(value) if operator.startswith(":") else value is not None
    if operator.endswith("?") and not present:
        raise MissingVariable(f"{name}: {argument}")
    if operator.endswith("-") and not present:
        return interpolate(argument, env), i + 1
    return value or "", i + 1


def compose_variables() -> dict[str, str]:
    """Every ${NAME…} compose substitutes, with its operator ('' when it has none)."""
    text = COMPOSE.read_text().replace("$$", "")
    return {
        match.group(1): match.group(2) or ""
        for match in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?", text)
    }


def environment_of(service: str, env: Mapping[str, str]) -> dict[str, str]:
    spec = services()[service].get("environment", {})
    assert isinstance(spec, dict), f"{service}: environment as a mapping"
    return {name: interpolate(str(value), env) for name, value in spec.items()}


def instructions() -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments out."""
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        pending = ""
        yield keyword.upper(), arguments.strip()


def exec_form(arguments: str) -> list[str]:
    """The JSON array of CMD/HEALTHCHECK CMD/ENTRYPOINT in exec form."""
    start = arguments.index("[")
    value = json.loads(arguments[start:])
    assert isinstance(value, list), arguments
    return [str(item) for item in value]


def stages() -> list[tuple[str, str]]:
    """(base, name) of every FROM, in order."""
    found = []
    for keyword, arguments in instructions():
        if keyword == "FROM":
            words = [w for w in arguments.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            found.append((words[0], name))
    return found


def dockerfile_commands() -> list[list[str]]:
    commands = []
    for keyword, arguments in instructions():
        if keyword == "CMD":
            commands.append(exec_form(arguments))
        if keyword == "HEALTHCHECK":
            commands.append(exec_form(arguments.partition(" CMD ")[2]))
    return commands


def compose_commands(env: Mapping[str, str]) -> list[list[str]]:
    commands = []
    for spec in services().values():
        for value in (spec.get("command"), spec.get("healthcheck", {}).get("test")):
            if isinstance(value, list):
                commands.append([interpolate(str(word), env) for word in value])
    return commands


def shell_blocks(markdown: str) -> Iterator[str]:
    """Each command of the ```sh blocks, continuation lines joined."""
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL):
        yield from block.replace("\\\n", " ").splitlines()


def tds_invocations() -> list[list[str]]:
    """Every `tds …` the files run or tell an operator to run, as argv after `tds`."""
    env = filled_env()
    argvs = [cmd for cmd in dockerfile_commands() + compose_commands(env) if cmd[0] == "tds"]
    lines = list(shell_blocks(DEPLOY_DOC.read_text()))
    lines += [
        line.lstrip("# ")
        for line in COMPOSE.read_text().splitlines()
        if line.lstrip("# ").startswith("docker compose")
    ]
    for line in lines:
        words = shlex.split(line, comments=True)
        if "tds" in words:
            argvs.append(words[words.index("tds") :])
    return [argv[1:] for argv in argvs]


def command_path(argv: list[str]) -> list[str]:
    path = []
    for word in argv:
        if word.startswith("-"):
            break
        path.append(word)
    return path


def python_snippets() -> list[str]:
    env = filled_env()
    return [
        command[command.index("-c") + 1]
        for command in dockerfile_commands() + compose_commands(env)
        if command[:2] in (["python", "-c"], ["CMD", "python"])
    ]


class _Recorder(dict[str, str]):
    """An empty environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return default


def known_variables() -> set[str]:
    """TDS_* names something reads: Settings' fields and the engines' own settings."""
    names = {f"TDS_{name.upper()}" for name in Settings.model_fields}
    recorder = _Recorder()
    DiffusionConfig.from_env(recorder)
    RemoteConfig.from_env(recorder)
    names |= {name for name in recorder.asked if name.startswith("TDS_")}
    return names | {UPSCALER_ENV}


def dockerignore_excludes(path: str) -> bool:
    """Whether the build context leaves `path` out (Docker's rules: the last matching pattern
    wins, `!` re-includes, a matched directory takes its contents with it)."""
    patterns = [
        line.strip().lstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    parts = Path(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _glob(pattern.removeprefix("!"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def _glob(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


# -- compose ----------------------------------------------------------------------------------


def test_compose_runs_the_services_tds_needs_each_with_a_health_check() -> None:
    found = services()
    api = environment_of("api", filled_env())
    # The database, the broker and the object store are the services the API's URLs name.
    hosts = {
        "database": urlsplit(api["TDS_DATABASE_URL"]).hostname,
        "broker": urlsplit(api["TDS_BROKER_URL"]).hostname,
        "object store": urlsplit(api["TDS_S3_ENDPOINT_URL"]).hostname,
    }
    assert hosts["database"] == "postgres"
    assert hosts["broker"] == "redis"
    assert api["TDS_STORAGE"] == "s3"
    for name in (*CORE_SERVICES, *hosts.values()):
        assert name in found, name
        check = found[name].get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), name
        assert check["test"] not in (["NONE"], "NONE"), name
    assert "minio" in found[str(hosts["object store"])]["image"]


def test_every_long_running_service_has_a_health_check_and_one_shots_do_not_restart() -> None:
    for name, spec in services().items():
        if spec.get("restart") == "no":
            assert "healthcheck" not in spec, f"{name} is a one-shot job"
            continue
        assert spec.get("restart") == "unless-stopped", name
        assert spec.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_services_wait_for_what_they_depend_on() -> None:
    found = services()
    for name, spec in found.items():
        for target, condition in spec.get("depends_on", {}).items():
            kind = condition["condition"]
            if kind == "service_healthy":
                assert "healthcheck" in found[target], f"{name} waits on {target}'s health"
            else:
                assert kind == "service_completed_successfully", (name, target, kind)
                assert found[target].get("restart") == "no", f"{target} is not a one-shot"
    for name in ("api", "worker", "worker-gpu"):
        waits = found[name]["depends_on"]
        for target in ("postgres", "redis"):
            assert waits[target]["condition"] == "service_healthy", (name, target)
        for target in ("migrate", "storage-init"):
            assert waits[target]["condition"] == "service_completed_successfully", (name, target)


def test_settings_in_the_compose_environment_load(monkeypatch: pytest.MonkeyPatch) -> None:
    env = filled_env()
    for name in tds_services():
        for variable in [v for v in os.environ if v.startswith("TDS_")]:
            monkeypatch.delenv(variable)
        values = environment_of(name, env)
        for variable, value in values.items():
            monkeypatch.setenv(variable, value)
        settings = Settings()
        assert str(settings.database_url).startswith("postgresql+psycopg://"), name
        assert settings.key_secret == env["TDS_KEY_SECRET"], name
        if name == "migrate":
            continue
        assert settings.broker_url == "redis://redis:6379/0", name
        assert settings.storage == "s3", name
        assert settings.s3_public_url == f"{env['TDS_PUBLIC_URL']}/{env['S3_BUCKET']}", name
        assert values["AWS_ACCESS_KEY_ID"] == env["S3_ACCESS_KEY"], name


def test_workers_take_the_queues_renders_are_sent_to() -> None:
    env = filled_env()
    known = {queues.DEFAULT_QUEUE, queues.VIDEO_QUEUE, *queues.ENGINE_QUEUES.values()}
    taken: set[str] = set()
    for name in ("worker", "worker-gpu"):
        command = [interpolate(str(word), env) for word in services()[name]["command"]]
        named = set(command[command.index("--queues") + 1].split(","))
        assert named <= known, (name, named - known)
        taken |= named
    assert taken == known
    gpu = [str(word) for word in services()["worker-gpu"]["command"]]
    assert gpu[gpu.index("--concurrency") + 1] == "1", "one process per GPU"


def test_the_gpu_worker_is_opt_in_and_reserves_one_nvidia_gpu() -> None:
    spec = services()["worker-gpu"]
    assert spec["profiles"] == ["gpu"]
    assert spec["build"]["target"] == "worker-gpu"
    (device,) = spec["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert len(device["device_ids"]) == 1
    for name, other in services().items():
        if name != "worker-gpu":
            assert "profiles" not in other, f"{name} should start by default"


def test_files_and_volumes_compose_mounts_exist() -> None:
    declared = set(compose()["volumes"])
    for name, spec in services().items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"
        if "build" in spec:
            assert (DEPLOY / spec["build"]["context"] / "Dockerfile").resolve() == DOCKERFILE


# -- the variables the files name ---------------------------------------------------------------


def test_every_tds_variable_the_files_name_is_read_by_tds() -> None:
    known = known_variables()
    for path in (COMPOSE, ENV_EXAMPLE, DOCKERFILE, CADDYFILE):
        for name in set(re.findall(r"\bTDS_[A-Z0-9_]+", path.read_text())):
            if name.endswith("_"):  # a family, as in TDS_DIFFUSION_*
                assert any(k.startswith(name) for k in known), f"{path.name}: {name}*"
            else:
                assert name in known, f"{path.name} names {name}, which tds does not read"


def test_env_example_names_every_variable_and_leaves_every_secret_empty() -> None:
    example = env_example()
    text = ENV_EXAMPLE.read_text()
    for name, operator in compose_variables().items():
        if operator.endswith("?"):
            assert name in example, f"compose requires {name}: give it a line in .env.example"
        else:
            assert re.search(rf"^#?\s*{name}=", text, flags=re.MULTILINE), name
    secrets = [name for name in example if re.search("SECRET|PASSWORD", name)]
    assert len(secrets) >= 4
    for name in secrets:
        assert example[name] == "", f"{name} must be empty in the example"
        assert compose_variables()[name] == ":?", f"compose must refuse to start without {name}"
    with pytest.raises(MissingVariable):
        environment_of("api", example)
    environment_of("api", filled_env())


# -- commands -----------------------------------------------------------------------------------


def test_every_tds_command_the_files_run_exists_with_its_options() -> None:
    runner = CliRunner()
    seen = set()
    for argv in tds_invocations():
        path = command_path(argv)
        seen.add(" ".join(path))
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"tds {' '.join(path)}: {result.output}"
        for word in argv:
            if word.startswith("--"):
                option = word.partition("=")[0]
                assert option in result.output, f"tds {' '.join(path)} has no {option}"
    assert {"serve", "worker", "admin create-key"} <= seen, seen


def test_python_one_liners_compile_and_what_they_import_exists() -> None:
    snippets = python_snippets()
    assert len(snippets) >= 4  # the API and worker health checks, twice, and the migration
    for code in snippets:
        tree = ast.parse(code)
        modules: dict[str, Any] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    modules[alias.asname or alias.name] = importlib.import_module(alias.name)
            elif isinstance(node, ast.ImportFrom):
                module = importlib.import_module(str(node.module))
                for alias in node.names:
                    found = getattr(module, alias.name, None)
                    if found is None:
                        found = importlib.import_module(f"{node.module}.{alias.name}")
                    modules[alias.asname or alias.name] = found
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                owner = modules.get(node.value.id)
                if owner is not None:
                    assert hasattr(owner, node.attr), f"{node.value.id}.{node.attr} in {code!r}"


# -- Dockerfile -----------------------------------------------------------------------------------


def test_dockerfile_has_the_targets_and_api_is_the_default() -> None:
    found = stages()
    names = [name for _, name in found]
    assert {"api", "worker", "worker-gpu"} <= set(names)
    assert names[-1] == "api", "`docker build .` builds the last stage"
    arguments = dict(
        arg.partition("=")[::2] for key, arg in instructions() if key == "ARG" and "=" in arg
    )
    for index, (base, name) in enumerate(found):
        if base not in names[:index]:  # an image, not an earlier stage: pinned to a tag
            image = arguments.get(base.removeprefix("${").removesuffix("}"), base)
            assert ":" in image, f"{name} is built on {image}, which names no tag"
    for service, spec in tds_services().items():
        assert spec["build"]["target"] in names, service


def test_dockerfile_copies_paths_that_exist_and_reach_the_build_context() -> None:
    names = [name for _, name in stages()]
    copied = []
    for keyword, arguments in instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        words = arguments.split()
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        source = next((f.partition("=")[2] for f in flags if f.startswith("--from=")), None)
        if source is not None:
            assert source in names, f"COPY --from={source}: no such stage"
            continue
        for path in paths[:-1]:
            assert (ROOT / path).exists(), f"COPY {path}: not in the repository"
            assert not dockerignore_excludes(path.rstrip("/")), f".dockerignore drops {path}"
            copied.append(path)
    assert {"pyproject.toml", "src/"} <= set(copied)
    # The package builds from what was copied: its readme is part of it.
    assert "README.md" in copied


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    for path in (".venv/bin/python", ".git/config", ".tds-data/tds.db", "deploy/.env", ".env"):
        assert dockerignore_excludes(path), path
    for path in ("src/tds/config.py", "pyproject.toml", "README.md"):
        assert not dockerignore_excludes(path), path


def test_health_checks_ask_the_port_the_api_serves() -> None:
    found = dict(instructions())
    serve = exec_form(found["CMD"])  # the last CMD is the api stage's
    port = serve[serve.index("--port") + 1]
    assert found["EXPOSE"] == port
    health = [cmd for cmd in dockerfile_commands() if "/healthz" in " ".join(cmd)]
    compose_check = " ".join(services()["api"]["healthcheck"]["test"])
    for text in [" ".join(cmd) for cmd in health] + [compose_check]:
        assert f"127.0.0.1:{port}/healthz" in text, text
    assert re.search(rf"dynamic a api {port}\b", CADDYFILE.read_text())


def test_the_proxy_serves_the_bucket_compose_stores_images_in() -> None:
    caddy = CADDYFILE.read_text()
    default = re.search(r"\{\$S3_BUCKET:([^}]+)\}", caddy)
    assert default, "the Caddyfile's bucket path has a default"
    compose_default = interpolate(str(services()["proxy"]["environment"]["S3_BUCKET"]), {})
    assert default.group(1) == compose_default == env_example()["S3_BUCKET"]
    for host in re.findall(r"reverse_proxy\s+([a-z-]+):\d+", caddy):
        assert host in services(), host
    assert re.search(r"handle /metrics\*\s*\{\s*respond 404", caddy), "/metrics stays internal"


# -- docs ---------------------------------------------------------------------------------------


def test_deploy_doc_links_resolve_and_the_readme_links_it() -> None:
    text = DEPLOY_DOC.read_text()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (DEPLOY_DOC.parent / target).exists(), target
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text()
    assert "## Throughput" in text
