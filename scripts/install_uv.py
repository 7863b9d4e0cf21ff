"""Install uv into a private folder (argv[1]), leaving the system Python alone.

`pip install --target` is allowed where PEP 668 refuses system and --user installs (pip skips
that check for --target). Where there is no pip at all, the uv wheel for this machine is
fetched from PyPI with the standard library, its SHA-256 checked against PyPI's, and the uv
binary taken out of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urljoin

PYPI = "https://pypi.org/pypi/uv/json"


def with_pip(target: Path) -> bool:
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True,
                      check=False).returncode != 0:
        return False
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--target", str(target), "uv"], check=True)
    return True


def _wheel_tag() -> str:
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(),
                                                           platform.machine().lower())
    system = platform.system().lower()
    if system == "linux":
        return f"manylinux_2_17_{machine}"  # uv's Linux wheels carry this tag (and more)
    if system == "darwin":
        return "macosx_11_0_arm64" if machine == "aarch64" else "macosx_10_12_x86_64"
    raise SystemExit(f"no uv wheel for {system} {machine}; install uv by hand")


def without_pip(target: Path) -> None:
    with urllib.request.urlopen(PYPI, timeout=60) as response:
        release = json.load(response)
    tag = _wheel_tag()
    files = [f for f in release["urls"] if f["filename"].endswith(".whl") and tag in f["filename"]]
    if not files:
        raise SystemExit(f"PyPI has no uv wheel tagged {tag}; install uv by hand")
    wheel = files[0]
    # Mirrors answer with addresses relative to the JSON document.
    with urllib.request.urlopen(urljoin(PYPI, wheel["url"]), timeout=300) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
        raise SystemExit(f"{wheel['filename']}: SHA-256 does not match PyPI's; not installed")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
        (target / "bin").mkdir(parents=True, exist_ok=True)
        with archive.open(name) as src, (target / "bin" / "uv").open("wb") as dst:
            shutil.copyfileobj(src, dst)
    (target / "bin" / "uv").chmod(0o755)


def main() -> None:
    target = Path(sys.argv[1])
    print(f"installing uv into {target} (not into the system Python)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not with_pip(target):
        without_pip(target)
    if not (target / "bin" / "uv").exists():
        raise SystemExit(f"uv was not installed into {target}")


if __name__ == "__main__":
    main()
