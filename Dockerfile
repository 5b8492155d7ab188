# syntax=docker/dockerfile:1
# Build:   docker build -t withheld .
# Migrate: a step of its own, once per release, before the new image serves:
#            docker run --rm -e WITHHELD_DATABASE_URL=postgresql://... withheld withheld migrate
# Serve:   docker run -p 8000:8000 -e WITHHELD_DATABASE_URL=postgresql://... \
#            -e WITHHELD_ADMIN_TOKENS=ops:... withheld
# The image never migrates by itself (WITHHELD_MIGRATE_ON_START=false): a server that finds an
# older schema exits, naming the command above. compose.yaml wires both steps together.
# SQLite instead of PostgreSQL: mount a volume on /data for both commands (-v withheld-data:/data).

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# A C compiler for app/index/_probe.c, the compiled GET /visible probe (only in this stage).
# Versions are left to the pinned base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY pyproject.toml setup.py constraints.txt README.md ./
COPY app ./app
# Installs the dependencies (pinned by constraints.txt) and the `withheld` command, then
# places the compiled probe beside the sources that the runtime stage runs from.
RUN /opt/venv/bin/pip install --no-cache-dir -c constraints.txt . \
    && cp /opt/venv/lib/python3.11/site-packages/app/index/_probe.*.so app/index/

FROM python:3.11.11-slim-bookworm AS runtime
# PYTHONPATH: the app in /srv (next to alembic.ini and migrations/, which app/migrate.py finds
# beside the package) wins over the copy installed in the venv.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WITHHELD_DATABASE_URL=sqlite:////data/withheld.db \
    WITHHELD_MIGRATE_ON_START=false
RUN groupadd --system --gid 10001 withheld \
    && useradd --system --uid 10001 --gid withheld --home-dir /srv --no-create-home \
        --shell /usr/sbin/nologin withheld \
    && mkdir -p /data \
    && chown withheld:withheld /data
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
COPY --from=build /src/app/index/_probe.*.so ./app/index/
# Compiled once here, as root: the non-root user cannot (and should not) write to /srv.
RUN python -m compileall -q /srv/app /srv/migrations
# Numeric, so that runtimes enforcing runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
# Liveness only (touches nothing); readiness is GET /readyz (index loaded, database answering).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# One worker per container: each process holds its own index; scale with replicas.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--timeout-graceful-shutdown", "8"]
