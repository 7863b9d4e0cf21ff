#!/bin/sh
# The code-location image's entry point (see Dockerfile).
#   code-server   (default) serve the looker_assets code location over gRPC on $PORT (3030),
#                 what the webserver, the daemon and run workers load it from
#   sync          one daily sync of every content type, for today's partition (a cron job
#                 without the Dagster daemon); exits non-zero if a type failed
#   anything else run as is, e.g. `dagster api execute_run ...` from the K8sRunLauncher
set -eu
case "${1:-code-server}" in
    code-server)
        exec dagster api grpc -m looker_assets -h 0.0.0.0 -p "${PORT:-3030}" ;;
    sync)
        exec dagster asset materialize -m looker_assets --select '*' \
            --partition "$(date -u +%F)" ;;
    *)
        exec "$@" ;;
esac
