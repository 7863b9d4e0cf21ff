"""Run the emulator in a child process (its own GIL), as the demo, the tests and bench do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from looker_assets.emulator.server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, looker_env

READY = "LOOKER EMULATOR READY "


class EmulatorProcess:
    """`python -m looker_assets.emulator ...` started and stopped by pid."""

    def __init__(
        self,
        *,
        scale: int = 1000,
        seed: int = 0,
        latency_ms: float = 0.0,
        extra_args: list[str] | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "looker_assets.emulator",
            "--port",
            "0",
            "--scale",
            str(scale),
            "--seed",
            str(seed),
            "--latency-ms",
            str(latency_ms),
            *(extra_args or []),
        ]
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET

    def looker_env(self) -> dict[str, str]:
        return looker_env(self.url, self.client_id, self.client_secret)

    def start(self) -> EmulatorProcess:
        # Output goes to a file, not a pipe: a pipe nobody drains would block the server.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            self.args,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self.log.seek(0)
            output = self.log.read()
            for line in output.splitlines():
                if line.startswith(READY):
                    self.url = line[len(READY) :].strip()
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}: {output[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("emulator did not become ready in time")

    def admin(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
