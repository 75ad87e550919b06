#!/usr/bin/env bash
# Builds the image of every declared service (cdk8s/src/services.ts) from services/Dockerfile and runs each the way the cluster does (read-only root filesystem, all
# capabilities dropped, no new privileges), checking: a numeric non-root user, /readyz 200 on the embedded
# database, and exit 0 within the grace period on SIGTERM.
#
# Where no base image can be pulled (an offline machine), it makes one: Debian bookworm (debootstrap from
# Debian's mirror) with this machine's Node.js and CA bundle, imported as courseops-local/node:20.
# Usage: npm run test:images   (BASE_IMAGE=… to use a base image you have)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "docker is not installed (Debian: apt-get install docker.io)"; exit 1; }
  echo "starting dockerd"
  (dockerd >/tmp/courseops-dockerd.log 2>&1 &)
  for _ in $(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi

base=${BASE_IMAGE:-node:20-bookworm-slim}
if ! docker image inspect "$base" >/dev/null 2>&1 && ! docker pull -q "$base" >/dev/null 2>&1; then
  base=courseops-local/node:20
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    echo "no base image can be pulled: making $base from Debian bookworm and this machine's Node.js"
    command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    node_bin=$(readlink -f "$(command -v node)")
    npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
    cp "$node_bin" "$rootfs/usr/bin/node"
    mkdir -p "$rootfs/usr/lib/node_modules" && cp -r "$npm_dir" "$rootfs/usr/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"
    # This machine's CA bundle, so npm inside the build trusts whatever TLS the host trusts.
    mkdir -p "$rootfs/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
    tar -C "$rootfs" -c . | docker import --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$base" >/dev/null
  fi
fi
echo "base image: $base"

failed=0
port=39100
# What to build, from the declarations (scripts/images/declared.ts): no list of its own here.
mapfile -t declared < <(npx tsx scripts/images/declared.ts)
backup_entry=
for entry in "${declared[@]}"; do
  case "$entry" in backup\ *) backup_entry=$entry; continue ;; esac
  read -r _ service service_port image <<<"$entry"
  port=$((port + 1))
  echo "== $service: building $image"
  if ! build_log=$(docker build -q -f services/Dockerfile --build-arg "SERVICE=$service" --build-arg "PORT=$service_port" --build-arg "BASE_IMAGE=$base" -t "$image" . 2>&1); then
    echo "$build_log"; echo "images: build of $service FAILED"; exit 1
  fi
  container=courseops-verify-$service
  docker rm -f "$container" >/dev/null 2>&1 || true
  env=(-e PORT=3000 -e STATUS_TARGETS=self=http://127.0.0.1:3000 -e ALERT_WEBHOOK_TOKEN=verify)
  docker run -d --name "$container" --read-only --cap-drop ALL --security-opt no-new-privileges "${env[@]}" -p "127.0.0.1:$port:3000" "$image" >/dev/null
  ready=no
  for _ in $(seq 40); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && ready=yes && break; sleep 0.5; done
  user=$(docker exec "$container" id -u)
  docker stop -t 30 "$container" >/dev/null
  code=$(docker inspect "$container" --format '{{.State.ExitCode}}')
  size=$(docker image inspect "$image" --format '{{.Size}}')
  echo "   ready: $ready, uid: $user, exit on SIGTERM: $code, size: $((size / 1024 / 1024)) MiB"
  if [ "$ready" != yes ] || [ "$user" = 0 ] || [ "$code" != 0 ]; then
    failed=1
    docker logs "$container" 2>&1 | tail -20
  fi
  docker rm "$container" >/dev/null
done

# The backup image (scripts/backup/Dockerfile): postgres plus the node binary of a Node.js image with node at
# /usr/local/bin/node (the official node images; not the debootstrap fallback). Checked: a numeric non-root
# user, node and pg_dump run, and the CLI works on a read-only root filesystem (list of an empty folder).
# The databases' image (cdk8s/src/data/postgresql.ts), passed to the build: the Dockerfile has no copy of it.
read -r _ backup_image pg_image backed_up <<<"$backup_entry"
if [ -z "$backup_entry" ]; then
  echo "== backup: no declared service has a database"
elif [ "$base" = courseops-local/node:20 ] || ! { docker image inspect "$pg_image" >/dev/null 2>&1 || docker pull -q "$pg_image" >/dev/null 2>&1; }; then
  echo "== backup: skipped (needs $pg_image and an official Node.js image)"
else
  echo "== backup: building $backup_image"
  if ! build_log=$(docker build -q -f scripts/backup/Dockerfile --build-arg "POSTGRES_IMAGE=$pg_image" --build-arg "NODE_IMAGE=$base" -t "$backup_image" . 2>&1); then
    echo "$build_log"; echo "images: build of backup FAILED"; exit 1
  fi
  user=$(docker run --rm --entrypoint id "$backup_image" -u)
  out=$(docker run --rm --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges "$backup_image" list "$backed_up" --dir /tmp 2>&1 || true)
  echo "   uid: $user, list: $out"
  if [ "$user" = 0 ] || ! grep -q "no backup of $backed_up in /tmp" <<<"$out"; then failed=1; fi
fi
[ "$failed" = 0 ] && echo "images: all checks passed" || { echo "images: FAILED"; exit 1; }
