#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need when it is missing, builds the box's
# programs from their Go modules (cached by version outside the repository; Prometheus, promtool,
# Alertmanager and amtool among them, which tests outside the box use too), then runs every test.
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
# The box's sign-in test gives Chromium the box's platform CA through an NSS database (certutil).
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
# The platform in a box: network namespaces (iproute2), its certificates (openssl), requests inside it (curl).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v diff >/dev/null 2>&1 || missing+=(diffutils)
# schemathesis (scripts/test/schemathesis.test.ts) is installed from PyPI into a venv of its own.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts its own PostgreSQL on install; the tests start their own on free ports.
command -v go >/dev/null 2>&1 || { echo "the box is built with Go (1.26): install it from https://go.dev/dl/ or your package manager" >&2; exit 1; }

phase "npm ci"
npm ci --no-audit --no-fund

# Every vitest run also writes a JSON report; the command ends on one plain line that sums them.
reports=$(mktemp -d)
vitest_run() { npx vitest run --reporter=default --reporter=json --outputFile.json="$reports/run-$((++runs)).json" "$@"; }
runs=0

if [ $# -gt 0 ]; then
  # Some tests by name: build what the box needs first, then run them as asked.
  phase "box programs (Go builds, cached by version)"
  npx tsx scripts/box/build.ts
  phase "tests: $*"
  vitest_run "$@"
else
  # The box's Go builds (about half an hour on a fresh 2-core machine, a second when cached) run at low
  # priority beside the typecheck, Prometheus and Alertmanager first. Cached, every test then runs in one
  # go (the box's beside the rest); still building, the tests that do not need the box run meanwhile and
  # the box's come last. Of those, the ones that need Prometheus or Alertmanager (promtool, amtool, the
  # observability loop, the canary analysis) wait in their beforeAll until the background build has
  # made these two (ensureTool's lock), or build them themselves if it has not started on them.
  build_log=$(mktemp)
  phase "box programs (Go builds, cached by version) in the background; typecheck"
  setsid nice -n 10 npx tsx scripts/box/build.ts >"$build_log" 2>&1 &
  build_pid=$!
  trap 'kill -- "-$build_pid" 2>/dev/null || true' EXIT
  npm run typecheck
  box_built() {
    local status=0
    wait "$build_pid" || status=$?
    trap - EXIT
    cat "$build_log"
    [ "$status" -eq 0 ] || { echo "building the box programs failed" >&2; exit "$status"; }
  }
  if ! kill -0 "$build_pid" 2>/dev/null; then
    box_built
    phase "tests"
    vitest_run
  else
    phase "tests outside the box (the box programs still building)"
    vitest_run --exclude 'scripts/test/box.test.ts' --exclude 'scripts/test/box-zones.test.ts' --exclude '**/node_modules/**'
    phase "waiting for the box programs"
    box_built
    phase "tests in the box"
    vitest_run scripts/test/box.test.ts scripts/test/box-zones.test.ts
  fi
  # After every test (Stryker mutates the sources in place): the per-file mutation-score gate. Only what
  # changed since the committed baselines is mutated (README "Mutation testing").
  phase "mutation score (incremental, against scripts/mutation/baseline)"
  npm run -s test:mutation
fi
phase ""
echo "== total: $((SECONDS - started)) s"
summary_status=0
npx tsx scripts/testing/summary.ts "$reports"/*.json || summary_status=$?
rm -rf "$reports"
exit "$summary_status"
