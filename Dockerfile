# syntax=docker/dockerfile:1
# Build: docker build -t withheld .
# Migrate once per release:  docker run --rm -e WITHHELD_DATABASE_URL=... withheld withheld migrate
# Serve:                     docker run -p 8000:8000 -e WITHHELD_DATABASE_URL=... \
#                              -e WITHHELD_ADMIN_TOKENS=ops:... withheld

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11.11-slim-bookworm AS runtime
# PYTHONPATH: the app in /srv (next to alembic.ini and migrations/) wins over the installed copy.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WITHHELD_DATABASE_URL=sqlite:////data/withheld.db \
    WITHHELD_MIGRATE_ON_START=false
RUN groupadd --system --gid 10001 withheld \
    && useradd --system --uid 10001 --gid withheld --home-dir /srv withheld \
    && mkdir -p /data && chown withheld:withheld /data
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
USER withheld
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
