"""The chat benchmark's server processes: the product as `make serve` runs it (the Procfile's web
line: uvicorn with its flags, WEB_CONCURRENCY processes; a Celery worker), the bare relay on the
same uvicorn line, and what /proc says about them (CPU time, resident memory)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_APP = "chatbot_site.asgi:application"
RELAY_APP = "bench.relay_app:application"

# The product's flood limits (docs/protocol.md, "Limits") sized for a load generator that is one
# address with many sessions. The bench reports them; everything else is the production default.
BENCH_LIMITS = {
    "CHAT_MESSAGE_RATE_PER_SESSION": "1000000/m",
    "CHAT_MESSAGE_RATE_PER_ADDRESS": "100000000/m",
    "CHAT_SOCKETS_PER_ADDRESS": "1000000",
    "CHAT_NEW_SESSIONS_PER_ADDRESS": "100000000/h",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise LookupError(f"no {process} process in the Procfile")


def server_env(base: dict[str, str], *, port: int, processes: int) -> dict[str, str]:
    env = dict(base)
    env.update(
        CONFIDANT_DEV_ENV="1",
        DEBUG="0",
        HTTPS="0",
        COLLECTSTATIC="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(processes),
        LOG_LEVEL="WARNING",
        **BENCH_LIMITS,
    )
    env.setdefault("CHANNEL_LAYER_PREFIX", "bench")
    env.setdefault("CELERY_TASK_DEFAULT_QUEUE", "bench")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def chat_setup(env: dict[str, str], *args: str, stdin: dict[str, Any] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chat_setup.py"), *args],
        cwd=ROOT,
        env=env,
        input=json.dumps(stdin) if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"chat_setup.py {args[0]} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(env: dict[str, str]) -> None:
    """What `make serve` does before it starts the processes (the independent steps at once)."""
    manage(env, "check_databases")
    steps = [["collectstatic", "--noinput"], ["migrate", "--noinput"], ["migrate", "--noinput", "--database", "keys"]]
    running = [
        subprocess.Popen([sys.executable, "manage.py", *step], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for step in steps
    ]
    for step, proc in zip(steps, running, strict=True):
        if proc.wait():
            raise RuntimeError(f"manage.py {' '.join(step)} failed")


def log(env: dict[str, str], name: str) -> Path:
    """Where the server `name` on env's port writes its output (appended to, round after round)."""
    return ROOT / "var" / f"bench-{name}-{env['PORT']}.log"


def log_problems(path: Path, offset: int) -> dict[str, int]:
    """What the server logged after `offset`: tracebacks, and warnings by their last word (the
    exception's name in the product's channel-layer warnings)."""
    found: dict[str, int] = {}
    for line in path.read_bytes()[offset:].decode(errors="replace").splitlines():
        if line.startswith("Traceback"):
            found["traceback"] = found.get("traceback", 0) + 1
        elif " WARNING " in line or " ERROR " in line or line.startswith(("WARNING:", "ERROR:")):
            key = line.rsplit(" ", 1)[-1][:60]
            found[key] = found.get(key, 0) + 1
    return found


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def _spawn(command: str, env: dict[str, str], log_path: Path, *, mode: str) -> Iterator[subprocess.Popen]:
    """Start a Procfile command in its own process group, its output in `log_path`."""
    with open(log_path, mode) as out:
        yield subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def web(app: str, env: dict[str, str], *, name: str) -> Iterator[subprocess.Popen]:
    """The Procfile's web line serving `app`; yields the process once it answers HTTP."""
    command = procfile_command("web")
    assert PRODUCT_APP in command, command
    log_path = log(env, name)
    log_path.parent.mkdir(exist_ok=True)
    with _spawn(command.replace(PRODUCT_APP, app), env, log_path, mode="ab") as proc:
        try:
            url = f"http://127.0.0.1:{env['PORT']}/privacy/"
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            # With several processes, every worker must be up before the load (each imports Django).
            while len(tree(proc.pid)) < 1 + int(env["WEB_CONCURRENCY"]) * (int(env["WEB_CONCURRENCY"]) > 1):
                time.sleep(0.2)
            time.sleep(1.0 * int(env["WEB_CONCURRENCY"]))
            yield proc
        finally:
            _stop(proc)


@contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """The Procfile's Celery worker line."""
    log_path = ROOT / "var" / f"bench-worker-{env['PORT']}.log"
    with _spawn(procfile_command("worker"), env, log_path, mode="wb") as proc:
        try:
            deadline = time.monotonic() + 90
            while b"ready." not in log_path.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Celery worker did not start: {log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield proc
        finally:
            _stop(proc)


# --- /proc ---------------------------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, ValueError):
                continue
    found, frontier = [pid], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with_fields = _stat(pid)
        total += int(with_fields[11]) + int(with_fields[12])  # utime, stime
    return total / ticks


def rss_bytes(pids: list[int]) -> int:
    return sum(int(_stat(pid)[21]) * os.sysconf("SC_PAGE_SIZE") for pid in pids)
