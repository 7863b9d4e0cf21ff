"""A throwaway PostgreSQL cluster for the tests and benchmarks: initdb in a temporary folder,
run as an unprivileged user, on 127.0.0.1 with a free port (and a Unix socket in the same
folder), stopped and removed at the end with no process left over.

    with PostgresCluster() as pg:
        url = pg.create_database("looker")   # postgresql://looker:...@127.0.0.1:PORT/looker
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

USER = "looker"
# The server refuses to run as root: as root, it runs as Debian's `postgres` system user.
SERVER_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here; scripts/test.sh installs Debian's postgresql."""


def server_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "no PostgreSQL server (initdb) found; install Debian's postgresql package "
        "(scripts/test.sh does)")


def _runuser() -> str:
    # In /usr/sbin, which a PATH without the sbin folders (env -i, cron) leaves out.
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and Path(candidate).exists():
            return candidate
    raise PostgresUnavailable("running PostgreSQL as root needs runuser (util-linux)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    def __init__(self, **settings: str) -> None:
        # Server settings (`-c name=value`), e.g. shared_buffers="1GB" for a benchmark.
        self.settings = " ".join(f"-c {k}={v}" for k, v in settings.items())
        self.bin = server_bin()
        self.password = secrets.token_urlsafe(16)
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="looker-assets-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = [_runuser(), "-u", SERVER_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresCluster:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.root, SERVER_USER)
            shutil.chown(pwfile, SERVER_USER)
        try:
            self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                      "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                      "-w", "-o", f"-p {self.port} -k {self.root} "
                      f"-c listen_addresses=127.0.0.1 -c fsync=off {self.settings}", "start")
        except subprocess.CalledProcessError as exc:
            log = self.root / "server.log"
            detail = log.read_text()[-2000:] if log.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}{detail}") from exc
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database (dropped first if it exists); its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
