# syntax=docker/dockerfile:1
#
# Colony's container image for team mode: `colony up` by default (the REST API, the WebSocket event
# stream, the dashboard), `colony worker` or `colony db migrate` as a command override.
# Configuration comes from the environment and from mounted files only; nothing secret is baked in:
#   COLONY_DATABASE_URL  postgres://user:password@host:5432/colony   (team mode)
#   COLONY_REDIS_URL     redis://host:6379                           (memory's L2 cache; optional)
#   COLONY_JWT_SECRET    >= 32 characters: required to listen on 0.0.0.0 (or create API keys first)
#   COLONY_PORT          3000 by default; COLONY_HOST is 0.0.0.0 here (the CLI's default is loopback)
#   ANTHROPIC_API_KEY / OPENAI_API_KEY, COLONY_PROVIDER, COLONY_CONCURRENCY, COLONY_LOG_LEVEL, ...
# Build:  docker build -t colony:dev .
# Run:    docker run --env-file .env -p 3000:3000 colony:dev            (the API)
#         docker run --env-file .env colony:dev worker                   (a worker)
#         docker run --env-file .env colony:dev db migrate               (migrations, one-shot)

ARG NODE_IMAGE=node:24-slim

# ---- build: every dependency, then tsc into dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc before the sources are here; the build step below does it.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, dist/ and the files package.json publishes ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    COLONY_HOST=0.0.0.0 \
    COLONY_PORT=3000 \
    NO_COLOR=1
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay on (native modules build or fetch their binaries); `prepare` is a dev-time
# hook, so it is taken out first: it would need typescript, a dev dependency.
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY agents ./agents
COPY web ./web
COPY examples ./examples

# The project directory: the working directory of shell tasks and the home of `.colony/` (logs,
# config.yaml if one is mounted, the SQLite file when no COLONY_DATABASE_URL is set). It must be
# writable by the `node` user; mount a volume here to keep it (team mode keeps its state in PostgreSQL).
RUN mkdir -p /var/lib/colony/.colony && chown -R node:node /var/lib/colony
VOLUME ["/var/lib/colony"]
WORKDIR /var/lib/colony
USER node

EXPOSE 3000
# Liveness only (the process answers); /ready is the one that checks the database. Slim images have
# no curl: node itself does the GET.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.COLONY_PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM drains running tasks (up to tasks.drainTimeoutMs, 30 s by default): give `docker stop`
# (--stop-timeout / stop_grace_period) and Kubernetes (terminationGracePeriodSeconds) more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["up"]
