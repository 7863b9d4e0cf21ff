#!/usr/bin/env bash
# The project's test command: does all set-up on a fresh Debian machine (as root), then runs pytest.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
# Run from the repository root whatever the caller's directory.
cd "$(dirname "$0")/.."
# uv manages the virtualenv from the committed uv.lock.
command -v uv >/dev/null 2>&1 || python3 -m pip install -q uv
# The UI test drives Debian's Chromium (Playwright never downloads a browser of its own).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
# Everything else (.venv, dependencies) is uv's job.
exec uv run pytest "$@"
