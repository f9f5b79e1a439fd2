"""The embedded servers: what `make demo` runs on a machine with nothing configured.

These tests run `flask` in subprocesses with DATABASE_URL and REDIS_URL removed, so they
prove the embedded path even when the rest of the suite uses external servers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from saas.config import PROJECT_ROOT

pytestmark = [pytest.mark.embedded, pytest.mark.smoke]


def flask(instance: Path, *args: str, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["INSTANCE_PATH"] = str(instance)
    return [sys.executable, "-m", "flask", "--app", "saas", *args], env


def run_flask(instance: Path, *args: str) -> subprocess.CompletedProcess:
    cmd, env = flask(instance, *args)
    return subprocess.run(
        cmd, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not a server; only a process that still runs counts.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def get(port: int, host: str, path: str = "/") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_embedded_servers_then_ctrl_c_leaves_nothing_running(tmp_path):
    instance = tmp_path / "instance"
    created = run_flask(instance, "tenants", "create", "embedded-shop", "--name", "Embedded Shop")
    assert created.returncode == 0, created.stderr
    assert (instance / "postgres" / "PG_VERSION").exists()  # data lives under instance/

    port = free_port()
    cmd, env = flask(instance, "serve", "--port", str(port))
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        cmd, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(port, f"embedded-shop.localhost:{port}")
                break
            except (ConnectionError, urllib.error.URLError):
                assert time.monotonic() < deadline, "server did not come up"
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
        assert status == 200 and "Embedded Shop" in body
        assert get(port, f"localhost:{port}")[0] == 200
        assert get(port, f"nope.localhost:{port}")[0] == 404

        pg_pid = int((instance / "postgres" / "postmaster.pid").read_text().split()[0])
        settings = json.loads((instance / "redis.rdb.settings").read_text())
        redis_pid = int(Path(settings["pidfile"]).read_text())
        assert alive(pg_pid) and alive(redis_pid)

        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        server.wait(60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    deadline = time.monotonic() + 20
    while (alive(pg_pid) or alive(redis_pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pg_pid), "embedded PostgreSQL still running"
    assert not alive(redis_pid), "embedded Redis still running"

    # A second start reuses the data.
    listed = run_flask(instance, "tenants", "list")
    assert listed.returncode == 0 and "embedded-shop" in listed.stdout
