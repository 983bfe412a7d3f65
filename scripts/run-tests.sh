#!/bin/bash
# Runs the whole suite: unit and integration tests in parallel, then the system tests that
# need root, /dev/net/tun and network namespaces one at a time.
# Without root the system tests are skipped with a notice naming them — unless TUNDRA_NO_SKIP=1
# (CI), where a skip is a failure. A test that skips itself is listed by ctest as skipped.
set -uo pipefail
build=${1:-build}
cd "$build"
status=0
ctest -L 'unit|integration' --output-on-failure -j "$(nproc)" || status=1
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]; then
  ctest -L netns --output-on-failure || status=1
else
  skipped=$(ctest -N -L netns | sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')
  if [ "${TUNDRA_NO_SKIP:-0}" = 1 ]; then
    echo "run-tests: system tests need root and /dev/net/tun (TUNDRA_NO_SKIP=1 forbids skipping): $skipped" >&2
    status=1
  else
    echo "run-tests: NOTICE: not root or no /dev/net/tun: system tests skipped: $skipped" >&2
  fi
fi
exit $status
