"""The deployment files say what runs, so check that what they name exists and starts: every
compose service's command, the Dockerfile's entrypoint and healthcheck, the gunicorn config.
(No Docker engine here: the same commands are run directly.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands

from posproject.celery import app as celery_app
from tests.monitoring.conftest import free_port
from tests.monitoring.helpers import broker_at

BASE_DIR = Path(__file__).resolve().parents[2]
APP_SERVICES = {"web", "worker", "beat", "migrate"}
INFRASTRUCTURE = {"postgres", "redis", "rabbitmq"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((BASE_DIR / "compose.yaml").read_text())


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = (BASE_DIR / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def assert_command_exists(argv: list[str]) -> None:
    program = argv[0]
    if program == "gunicorn":
        config = argv[argv.index("-c") + 1]
        assert (BASE_DIR / config).is_file(), config
    elif program == "celery":
        app_module = argv[argv.index("-A") + 1]
        module = __import__(f"{app_module}.celery", fromlist=["app"])
        assert isinstance(module.app, Celery)
        subcommand = next(arg for arg in argv[argv.index("-A") + 2 :] if not arg.startswith("-"))
        assert subcommand in celery_cli.commands, subcommand
    elif program == "python":
        assert argv[1] == "manage.py"
        assert (BASE_DIR / "manage.py").is_file()
        assert argv[2] in get_commands(), argv[2]
    else:
        pytest.fail(f"unexpected program {program!r}")


def test_compose_has_every_service_from_one_image() -> None:
    services = compose()["services"]
    assert set(services) >= APP_SERVICES | INFRASTRUCTURE
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    assert all(services[name]["build"]["context"] == "." for name in APP_SERVICES)
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["rabbitmq"]["image"].startswith("rabbitmq:")


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_service_command_exists(name: str) -> None:
    service = compose()["services"][name]
    assert_command_exists(command_of(service))
    assert ".env" in service["env_file"]
    environment = service["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["REDIS_URL"].startswith("redis://")
    assert environment["CELERY_BROKER_URL"].startswith("amqp://")
    assert environment["DJANGO_DEBUG"] == "false"


def test_dependencies_wait_for_health_and_for_migrations() -> None:
    services = compose()["services"]
    for name in APP_SERVICES:
        for dependency, rule in services[name]["depends_on"].items():
            if rule["condition"] == "service_healthy":
                check = services[dependency]["healthcheck"]
                assert not check.get("disable"), dependency
                assert check["test"], dependency
            else:
                assert rule["condition"] == "service_completed_successfully"
                assert dependency == "migrate"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["restart"] == "no"
    for name in INFRASTRUCTURE:
        assert services[name]["healthcheck"]["test"]


def test_web_stops_slower_than_gunicorn_drains() -> None:
    web = compose()["services"]["web"]
    grace = int(web["stop_grace_period"].rstrip("s"))
    from tests.monitoring.gunicorn_harness import CONFIG

    config: dict[str, Any] = {"__file__": str(CONFIG)}
    exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), config)  # noqa: S102 - our own file
    assert grace > config["graceful_timeout"]


def test_dockerfile() -> None:
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in instructions:
        by_keyword.setdefault(keyword, []).append(rest)
    # Runs as an unprivileged user.
    (user,) = by_keyword["USER"]
    assert user.split(":")[0] not in {"root", "0"}
    # Pinned requirements, and every file the build copies exists.
    runs = " ".join(by_keyword["RUN"])
    assert "pip install --no-cache-dir --require-hashes -r requirements/prod.txt" in runs
    # prod.txt is a lock file: every requirement pinned with ==, each with its hashes.
    requirements = (BASE_DIR / "requirements" / "prod.txt").read_text()
    entries = [e for e in requirements.replace("\\\n", " ").splitlines() if e.strip()]
    entries = [e for e in entries if not e.lstrip().startswith("#")]
    assert len(entries) > 20
    for entry in entries:
        assert "==" in entry.split()[0], entry
        assert "--hash=sha256:" in entry, entry
    for copy in by_keyword["COPY"]:
        source = copy.split()[0]
        assert (BASE_DIR / source).exists(), source
    # collectstatic at build time with DEBUG off and a throwaway key.
    assert "collectstatic --noinput" in runs
    assert "DJANGO_DEBUG=false" in runs
    # The healthcheck calls /health/live without curl.
    (healthcheck,) = by_keyword["HEALTHCHECK"]
    assert "/health/live" in healthcheck
    assert "curl" not in healthcheck
    # The entrypoint is gunicorn with the config file, which exists.
    (cmd,) = by_keyword["CMD"]
    argv = json.loads(cmd)
    assert argv[:2] == ["gunicorn", "-c"]
    assert (BASE_DIR / argv[2]).is_file()
    assert "ENTRYPOINT" not in by_keyword  # compose swaps the command per role


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    ignored = set((BASE_DIR / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", ".pgdata", "staticfiles"} <= ignored


def test_dockerfile_healthcheck_command_works(tmp_path: Path) -> None:
    """Run the image's HEALTHCHECK command against the real gunicorn started from the config."""
    from tests.monitoring.gunicorn_harness import Gunicorn

    (healthcheck,) = [rest for keyword, rest in dockerfile() if keyword == "HEALTHCHECK"]
    argv = json.loads(healthcheck.split("CMD", 1)[1])
    assert argv[0] == "python"
    server = Gunicorn(tmp_path, workers=1)
    server.start()
    try:
        env = {**os.environ, "PORT": str(server.port)}
        # Docker calls a container unhealthy after `--retries` consecutive failures; a loaded
        # test machine gets the same allowance.
        retries = int(re.search(r"--retries=(\d+)", healthcheck).group(1))  # type: ignore[union-attr]
        codes = []
        for _ in range(retries):
            run = subprocess.run([sys.executable, *argv[1:]], env=env, timeout=30, check=False)
            codes.append(run.returncode)
            if run.returncode == 0:
                break
        assert codes[-1] == 0, codes
    finally:
        server.stop()
    down = subprocess.run(
        [sys.executable, *argv[1:]],
        env={**os.environ, "PORT": str(free_port())},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert down.returncode != 0


def test_gunicorn_config_checks_out() -> None:
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "k" * 50,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOW_LOCAL_SERVICES": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "posproject/gunicorn.conf.py"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def _get_when_up(url: str, process: subprocess.Popen, tmp_path: Path) -> int:
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "worker.err").read_text()[-2000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                return int(response.status)
        except OSError:
            time.sleep(0.3)
    pytest.fail("worker metrics port never answered")


@pytest.mark.slow
@pytest.mark.broker
def test_compose_worker_command_runs_against_a_real_broker(tmp_path: Path) -> None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("amqp"):
        pytest.skip("needs CELERY_BROKER_URL=amqp://… (CI sets it)")
    argv = command_of(compose()["services"]["worker"])
    metrics_port = free_port()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    queue = f"ops-deploy-test-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "k" * 50,
        "DJANGO_DEBUG": "false",
        "CELERY_BROKER_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "CELERY_METRICS_PORT": str(metrics_port),
        "CELERY_METRICS_ADDRESS": "127.0.0.1",
    }
    worker = subprocess.Popen(
        [argv[0], *argv[1:], "--queues", queue, "--hostname", f"{queue}@%h", "--without-mingle"],
        cwd=BASE_DIR,
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.err").open("wb"),
    )
    try:
        # The worker is up when its metrics port answers; then a task sent to its queue runs
        # and its outcome shows in the worker's (multi-process) metrics.
        assert _get_when_up(f"http://127.0.0.1:{metrics_port}/metrics", worker, tmp_path) == 200
        with broker_at(url):
            celery_app.send_task("celery.accumulate", args=(1, 2), queue=queue)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            body = urllib.request.urlopen(
                f"http://127.0.0.1:{metrics_port}/metrics", timeout=5
            ).read()
            if b'pos_celery_tasks_total{outcome="success",task="celery.accumulate"} 1.0' in body:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"task outcome not in worker metrics:\n{body.decode()[-1500:]}")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
