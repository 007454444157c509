# syntax=docker/dockerfile:1.7
# The OpenAI-compatible gateway, lc-proxy. Built from the repository root:
#   docker build -f deploy/docker/lc-proxy.Dockerfile -t liquidcompute/lc-proxy:0.1.0 .

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
RUN uv sync --frozen --no-dev --no-editable --package lc-proxy

FROM python:3.11.14-slim-bookworm
RUN groupadd --system --gid 10001 lc \
    && useradd --system --uid 10001 --gid lc --no-create-home --shell /usr/sbin/nologin lc
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 8081), 2).close()"]
ENTRYPOINT ["lc-proxy"]
