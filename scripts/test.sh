#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need when it is missing, builds the box's
# programs from their Go modules (cached by version outside the repository), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
started=$SECONDS
phase_start=$SECONDS
phase() {
  local now=$SECONDS
  [ -n "${phase_name:-}" ] && echo "== ${phase_name}: $((now - phase_start)) s"
  phase_name=$1
  phase_start=$now
  [ -n "$phase_name" ] && echo "== ${phase_name} ..."
  return 0
}

phase "Debian packages"
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
# The platform in a box: network namespaces (iproute2), its certificates (openssl), requests inside it (curl).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v diff >/dev/null 2>&1 || missing+=(diffutils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts its own PostgreSQL and Prometheus on install; the tests start their own on free ports.
command -v go >/dev/null 2>&1 || { echo "the box is built with Go (1.26): install it from https://go.dev/dl/ or your package manager" >&2; exit 1; }

phase "npm ci"
npm ci --no-audit --no-fund

phase "box programs (Go builds, cached by version)"
npx tsx scripts/box/build.ts

phase "typecheck"
npm run typecheck

phase "tests"
npx vitest run "$@"
phase ""
echo "== total: $((SECONDS - started)) s"
