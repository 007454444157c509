# syntax=docker/dockerfile:1.7
# The control-plane image: lcd, and the workers the chart runs from the same image
# (lc-reconciler, lc-fleet, lc-domain-verifier, lc-webhooks). Built from the repository root:
#   docker build -f deploy/docker/lcd.Dockerfile -t liquidcompute/lcd:0.1.0 .

FROM python:3.11.14-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs/ libs/
COPY services/ services/
COPY deploy/local/ deploy/local/
# Only the packages this image runs, their workspace libraries and their locked
# dependencies, installed as wheels (no editable links back to /src).
RUN uv sync --frozen --no-dev --no-editable \
        --package lc-api --package lc-reconciler --package lc-fleet --package lc-domain-verifier --package lc-webhooks

FROM python:3.11.14-slim-bookworm
RUN groupadd --system --gid 10001 lc \
    && useradd --system --uid 10001 --gid lc --no-create-home --shell /usr/sbin/nologin lc
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/api/healthz', timeout=2)"]
ENTRYPOINT ["lcd"]
