"""What of the deployment can run here: the image's entry point serving the code location on
the PostgreSQL instance config, the executor switch, and the Dockerfile's references. (No
Docker engine or Kubernetes runs on these machines: the README says what was not tested.)"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from looker_assets_tests.conftest import REPO
from looker_assets_tests.postgres_cluster import PostgresCluster

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_entry_point_serves_the_code_location(postgres: PostgresCluster,
                                              tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKER", "DAGSTER_"))}
    env.update({"DAGSTER_HOME": str(home), "PORT": str(port), "PYTHONPATH": str(REPO),
                "PATH": f"{BIN}:{env.get('PATH', '')}",
                "DAGSTER_PG_URL": postgres.create_database("dagster_entry").replace(
                    "postgresql://", "postgresql+psycopg2://"),
                "LOOKER_ASSETS_DB": postgres.create_database("looker_entry")})
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(REPO / "deploy" / "entrypoint.sh")], env=env, cwd=tmp_path,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        serving = False
        while time.monotonic() < deadline and server.poll() is None:
            check = subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "-p",
                                    str(port)], env=env, capture_output=True, text=True)
            if check.returncode == 0:
                serving = True
                break
            time.sleep(1)
        text = (tmp_path / "server.log").read_text()
        assert serving, text[-3000:]
        assert "looker_assets" in text or "Started Dagster code server" in text, text[-3000:]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_executor_switch_names_what_is_missing() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for value, expected in (("k8s", "needs dagster-k8s"), ("bogus", "expected in_process")):
        proc = subprocess.run([sys.executable, "-c", "import looker_assets; looker_assets.defs"],
                              env={**env, "LOOKER_ASSETS_EXECUTOR": value},
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and expected in proc.stderr, proc.stderr[-2000:]


def test_dockerfile_copies_what_exists() -> None:
    text = (REPO / "Dockerfile").read_text()
    for sources in re.findall(r"^COPY (?!--)(.+) \S+$", text, flags=re.MULTILINE):
        for source in sources.split():
            assert (REPO / source).exists(), source
    entry = re.search(r'^ENTRYPOINT \["/opt/looker_assets/(.+)"\]', text, re.MULTILINE)
    assert entry and os.access(REPO / entry.group(1), os.X_OK)
    assert "--extra k8s" in text and "uv.lock" in text
