#!/usr/bin/env bash
# The project's test command: does all set-up on a fresh Debian machine (as root), then runs pytest.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
# Run from the repository root whatever the caller's directory.
cd "$(dirname "$0")/.."
# The UI test drives Debian's Chromium (Playwright never downloads a browser of its own).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
# Storage tests run against a throwaway PostgreSQL cluster (looker_assets_tests/postgres_cluster.py
# starts it as an unprivileged user and stops it): the server binaries come from Debian, without
# the default cluster the package would otherwise create and start.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    mkdir -p /etc/postgresql-common
    [ -e /etc/postgresql-common/createcluster.conf ] || \
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Options::=--force-confold postgresql
fi
# Everything else (.venv, dependencies) is uv's job, from the committed uv.lock; scripts/uv finds
# uv or installs it privately (where PEP 668 refuses pip installs, too).
# Tests in one worker per core (pytest-xdist, at most 4): much of a test's time is spent waiting
# on emulators, subprocesses and servers, so two workers on two cores take ~35% off the suite.
# Each worker starts its own PostgreSQL cluster, S3 server and emulators on free ports.
exec sh scripts/uv run pytest --numprocesses auto --maxprocesses 4 --dist worksteal "$@"
