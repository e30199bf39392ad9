#!/usr/bin/env bash
# Builds Colony's container image and checks it, on a machine that cannot pull base images (no
# registry access) but has podman (Debian: apt-get install podman) and Debian's package mirror:
#   1. a stand-in for node:24-slim: Debian bookworm (debootstrap, minbase) + the Node 24 binary this
#      checkout already has (node_modules/.bin/node) + npm, with the `node` user (uid 1000) the
#      official image has;
#   2. the Dockerfile, unchanged, built on it (--build-arg NODE_IMAGE=...);
#   3. the image run: `colony up` answers /health and /ready as the non-root `node` user, the
#      HEALTHCHECK passes, `worker` runs as a command override, and SIGTERM stops it cleanly.
# (--format docker: the OCI format has no HEALTHCHECK.)
# Usage: bash scripts/verify-image-offline.sh   (as root; takes several minutes; leaves the images)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${VERIFY_IMAGE_WORKDIR:-/tmp/colony-image-verify}"
BASE_TAG="localhost/colony-node24-slim-standin:bookworm"
IMAGE_TAG="localhost/colony:verify"
PORT="${VERIFY_IMAGE_PORT:-39123}"
NAME="colony-verify-$$"
# Where podman cannot use crun or raise resource limits (a container host inside a sandbox: cgroups
# v1/v2 hybrid, capped rlimits), set VERIFY_IMAGE_RUNTIME=runc (apt-get install runc) and e.g.
# VERIFY_IMAGE_ULIMITS="--ulimit nofile=20000:20000 --ulimit nproc=8192:8192".
PODMAN=(podman)
[ -n "${VERIFY_IMAGE_RUNTIME:-}" ] && PODMAN+=(--runtime "$VERIFY_IMAGE_RUNTIME")
read -r -a LIMITS <<< "${VERIFY_IMAGE_ULIMITS:-}"

say() { printf '%s\n' "verify-image: $*"; }
fail() { say "FAILED: $*"; exit 1; }
command -v podman >/dev/null || fail "podman is not installed (apt-get install podman)"
command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
NODE_BIN="$(readlink -f "$ROOT/node_modules/.bin/node")"
[ -x "$NODE_BIN" ] || fail "no Node 24 binary in node_modules (run npm ci first)"
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

cleanup() { "${PODMAN[@]}" rm -f "$NAME" "$NAME-worker" >/dev/null 2>&1 || true; }
trap cleanup EXIT

if ! podman image exists "$BASE_TAG"; then
  say "building the base stand-in (debootstrap bookworm minbase)"
  mkdir -p "$WORK"
  if [ ! -e "$WORK/rootfs/etc/debian_version" ]; then
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian > "$WORK/debootstrap.log" 2>&1 || fail "debootstrap (see $WORK/debootstrap.log)"
  fi
  install -m 0755 "$NODE_BIN" "$WORK/rootfs/usr/local/bin/node"
  mkdir -p "$WORK/rootfs/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$WORK/rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$WORK/rootfs/usr/local/bin/npm"
  chroot "$WORK/rootfs" /bin/sh -c 'getent group node >/dev/null || groupadd --gid 1000 node; id node >/dev/null 2>&1 || useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  cp /etc/resolv.conf "$WORK/rootfs/etc/resolv.conf"
  # The host's CA bundle, as a base image made for a network behind a TLS-inspecting proxy would carry
  # it (this machine reaches the npm registry through one).
  mkdir -p "$WORK/rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$WORK/rootfs" -c . | podman import --change 'CMD ["node"]' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$BASE_TAG" > /dev/null
fi
say "base: $("${PODMAN[@]}" run "${LIMITS[@]}" --rm "$BASE_TAG" node --version), npm $("${PODMAN[@]}" run "${LIMITS[@]}" --rm "$BASE_TAG" npm --version)"

say "building the image from the Dockerfile"
"${PODMAN[@]}" build "${LIMITS[@]}" --format docker --network host --build-arg NODE_IMAGE="$BASE_TAG" -t "$IMAGE_TAG" -f "$ROOT/Dockerfile" "$ROOT" > "$WORK/build.log" 2>&1 || fail "podman build (see $WORK/build.log)"
say "image: $(podman image inspect "$IMAGE_TAG" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'), user $(podman image inspect "$IMAGE_TAG" --format '{{.Config.User}}')"

JWT="verify-image-jwt-secret-0123456789abcdef"
"${PODMAN[@]}" run "${LIMITS[@]}" -d --name "$NAME" --network host -e COLONY_PORT="$PORT" -e COLONY_JWT_SECRET="$JWT" "$IMAGE_TAG" > /dev/null
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/health" > /dev/null || { podman logs "$NAME" | tail -20; fail "/health did not answer"; }
say "/health: $(curl -sS "http://127.0.0.1:$PORT/health")"
say "/ready: $(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")"
[ "$("${PODMAN[@]}" exec "$NAME" id -un)" = node ] || fail "the process does not run as the node user"
say "runs as: $("${PODMAN[@]}" exec "$NAME" id -un) (uid $("${PODMAN[@]}" exec "$NAME" id -u))"
"${PODMAN[@]}" healthcheck run "$NAME" > /dev/null && say "HEALTHCHECK: healthy" || fail "HEALTHCHECK failed"
"${PODMAN[@]}" exec "$NAME" sh -c 'test ! -e /app/src && test ! -e /app/node_modules/typescript' || fail "dev files or dev dependencies in the image"
say "no sources and no dev dependencies in /app"

"${PODMAN[@]}" run "${LIMITS[@]}" -d --name "$NAME-worker" --network host -e COLONY_JWT_SECRET="$JWT" "$IMAGE_TAG" worker > /dev/null
sleep 5
[ "$(podman inspect "$NAME-worker" --format '{{.State.Running}}')" = true ] || { podman logs "$NAME-worker" | tail -20; fail "the worker did not stay up"; }
say "worker (command override): running"

"${PODMAN[@]}" stop -t 60 "$NAME" > /dev/null
# `colony up` drains on SIGTERM and exits 143 (128 + SIGTERM), saying so last in its output.
CODE="$("${PODMAN[@]}" inspect "$NAME" --format '{{.State.ExitCode}}')"
"${PODMAN[@]}" logs "$NAME" 2>&1 | grep -q 'colony up: stopped' || { "${PODMAN[@]}" logs "$NAME" 2>&1 | tail -20; fail "colony up did not drain and stop on SIGTERM (exit code $CODE)"; }
[ "$CODE" = 143 ] || fail "colony up exited $CODE after SIGTERM, not 143"
say "SIGTERM: drained and stopped, exit code $CODE"
# Team mode, when a PostgreSQL is named: migrations as a one-shot command override, then the API on it.
if [ -n "${VERIFY_IMAGE_DATABASE_URL:-}" ]; then
  "${PODMAN[@]}" run "${LIMITS[@]}" --rm --network host -e COLONY_DATABASE_URL="$VERIFY_IMAGE_DATABASE_URL" "$IMAGE_TAG" db migrate > "$WORK/migrate.log" 2>&1 || fail "db migrate (see $WORK/migrate.log)"
  say "db migrate on PostgreSQL: $(tail -1 "$WORK/migrate.log")"
  "${PODMAN[@]}" run "${LIMITS[@]}" -d --name "$NAME" --replace --network host -e COLONY_PORT="$PORT" -e COLONY_JWT_SECRET="$JWT" -e COLONY_DATABASE_URL="$VERIFY_IMAGE_DATABASE_URL" "$IMAGE_TAG" > /dev/null
  for _ in $(seq 1 60); do
    [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready" 2>/dev/null)" = 200 ] && break
    sleep 1
  done
  [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")" = 200 ] || { "${PODMAN[@]}" logs "$NAME" 2>&1 | tail -20; fail "/ready on PostgreSQL"; }
  say "/ready on PostgreSQL: 200"
fi
say "all checks passed"
