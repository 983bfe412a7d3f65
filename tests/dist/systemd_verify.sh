#!/bin/bash
# systemd-analyze verify accepts tundra@.service (an instance of it, with ExecStart naming the
# built binary: verify checks that the command exists and is executable). Exit 77 (skip) only
# when systemd-analyze is missing.
set -euo pipefail
: "${TUNDRA_BIN:?}" "${SRC_DIR:?}"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd_verify: SKIP: systemd-analyze is not installed" >&2
  [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && exit 1
  exit 77
fi
dir=$(mktemp -d /tmp/tundra-unit.XXXXXX)
trap 'rm -rf "$dir"' EXIT
sed "s|@TUNDRA_BIN@|$TUNDRA_BIN|g" "$SRC_DIR/dist/systemd/tundra@.service.in" >"$dir/tundra@.service"
grep -q '@' <(grep -v '^#' "$dir/tundra@.service" | grep -v '%[iI]') && { echo "unsubstituted @VAR@" >&2; exit 1; }
# --man=no: the man pages are not installed here (tests/dist/man_help.sh checks them).
out=$(systemd-analyze verify --man=no "$dir/tundra@wg0.service" 2>&1) || {
  echo "systemd_verify: FAIL: $out" >&2
  exit 1
}
# Unknown or misspelt directives are only warnings for systemd: refuse them too.
if [ -n "$out" ]; then echo "systemd_verify: FAIL: warnings: $out" >&2; exit 1; fi
for want in "ExecStart=$TUNDRA_BIN up %i" "ExecStop=$TUNDRA_BIN down %i" \
  "ExecReload=$TUNDRA_BIN syncconf %i" "NoNewPrivileges=yes" "ProtectSystem=strict"; do
  grep -qxF "$want" "$dir/tundra@.service" || { echo "systemd_verify: FAIL: no '$want'" >&2; exit 1; }
done
echo "systemd_verify: tundra@wg0.service verified"
