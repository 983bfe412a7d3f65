#!/bin/bash
# `make install` (cmake --install with DESTDIR and a prefix): the binary, both man pages, the
# systemd unit (ExecStart/ExecStop/ExecReload naming the installed binary, nothing left to
# substitute) and the bash completion land below DESTDIR/PREFIX, nothing elsewhere, and the
# installed binary runs.
set -euo pipefail
: "${BUILD_DIR:?}"
dest=$(mktemp -d /tmp/tundra-install.XXXXXX)
trap 'rm -rf "$dest" "$dest.log"' EXIT
prefix=/opt/tundra-install-test
root=$dest$prefix
fail() { echo "dist_install: FAIL: $*" >&2; exit 1; }
DESTDIR=$dest cmake --install "$BUILD_DIR" --prefix "$prefix" >"$dest.log" 2>&1 ||
  fail "cmake --install: $(cat "$dest.log")"
for f in bin/tundra share/man/man8/tundra.8 share/man/man5/tundra.conf.5 \
  share/bash-completion/completions/tundra 'lib/systemd/system/tundra@.service'; do
  [ -f "$root/$f" ] || fail "not installed: $prefix/$f (found: $(cd "$dest" && find . -type f | tr '\n' ' '))"
done
[ -x "$root/bin/tundra" ] || fail "the installed binary is not executable"
unit=$root/lib/systemd/system/tundra@.service
for want in "ExecStart=$prefix/bin/tundra up %i" "ExecStop=$prefix/bin/tundra down %i" \
  "ExecReload=$prefix/bin/tundra syncconf %i"; do
  grep -qxF "$want" "$unit" || fail "the unit has no '$want'"
done
! grep -v '^#' "$unit" | grep -q '@[A-Z_]*@' || fail "the unit has an unsubstituted @VAR@"
"$root/bin/tundra" --version | grep -q '^tundra ' || fail "the installed binary does not run"
outside=$(find "$dest" -type f ! -path "$root/*")
[ -z "$outside" ] || fail "installed outside the prefix: $outside"
echo "dist_install: $(find "$dest" -type f | wc -l) files below DESTDIR$prefix, the binary runs"
