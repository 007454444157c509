# syntax=docker/dockerfile:1.7
# The console: the built SPA behind nginx, as a non-root user on port 8080. Built from
# the repository root:
#   docker build -f deploy/docker/frontend.Dockerfile -t liquidcompute/frontend:0.1.0 .

FROM node:20.19-bookworm-slim AS build
WORKDIR /src
COPY services/frontend/package.json services/frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services/frontend/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.29-alpine
COPY deploy/docker/frontend.nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /src/dist /usr/share/nginx/html
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
# nginx itself, without the image's entrypoint scripts: they rewrite configuration files,
# and the root file system is read-only in the chart.
ENTRYPOINT ["nginx", "-g", "daemon off;"]
