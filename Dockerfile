# The looker_assets code-location image: the code location served over gRPC, run workers and
# step processes (dagster-k8s's K8sRunLauncher and k8s_job_executor run this same image).
# Build: docker build -t looker-assets:0.1.0 .   (see README, "Deploying on Kubernetes")
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    PATH=/opt/looker_assets/.venv/bin:$PATH

WORKDIR /opt/looker_assets
# Dependencies first, from the committed lock, so a code change rebuilds only the last layers.
COPY pyproject.toml uv.lock README.md ./
RUN pip install --no-cache-dir uv \
    && uv sync --frozen --no-dev --extra k8s --no-install-project
COPY looker_assets ./looker_assets
COPY deploy ./deploy
RUN uv sync --frozen --no-dev --extra k8s \
    && mkdir -p "$DAGSTER_HOME" \
    && cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && useradd --uid 10001 --no-create-home looker \
    && chown -R looker "$DAGSTER_HOME"

# Secrets (LOOKERSDK_CLIENT_SECRET, the passwords in LOOKER_ASSETS_DB and DAGSTER_PG_URL) come
# from the environment at run time, never from the image.
USER 10001
EXPOSE 3030
ENTRYPOINT ["/opt/looker_assets/deploy/entrypoint.sh"]
CMD ["code-server"]
