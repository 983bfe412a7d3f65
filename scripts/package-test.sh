#!/bin/bash
# The Debian package end to end (root): build it (make deb), check its control file against
# what the binary links (ldd + dpkg -S), install it (dpkg -i), check the installed files (man
# pages, systemd unit via systemd-analyze verify, bash completion), run `tundra demo` from the
# installed binary alone (empty environment, run from /), purge it and check nothing is left.
#
# Safe on a dev machine: it refuses (exit 77: skipped; a failure under TUNDRA_NO_SKIP=1) to
# touch an already installed tundra package, and files of a `make install PREFIX=/usr` that the
# package would overwrite are saved and put back.
set -euo pipefail
cd "$(dirname "$0")/.."
DEB_BUILD_DIR=${DEB_BUILD_DIR:-build-deb}
log() { printf '[%s package-test] %s\n' "$(date +%T)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
skip() {
  log "SKIP: $*"
  [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && exit 1
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i, network namespaces)"
command -v dpkg >/dev/null || skip "not a Debian system (no dpkg)"
if dpkg-query -W -f '${Status}' tundra 2>/dev/null | grep -q 'installed'; then
  skip "a tundra package is already installed ($(dpkg-query -W -f '${Version}' tundra)); not replacing it"
fi

installed=0
backup=$(mktemp -d /tmp/tundra-package-test.XXXXXX)
cleanup() {
  local rc=$?
  set +e
  if [ "$installed" = 1 ]; then dpkg --purge tundra >/dev/null 2>&1; fi
  # Put back the unpackaged files the package replaced.
  (cd "$backup/root" 2>/dev/null && find . -type f) | while read -r f; do
    mkdir -p "$(dirname "/${f#./}")"
    cp -a "$backup/root/${f#./}" "/${f#./}"
  done
  rm -rf "$backup"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building the package (make deb)"
make --no-print-directory deb DEB_BUILD_DIR="$DEB_BUILD_DIR" >/dev/null
deb=$(ls -1t "$DEB_BUILD_DIR"/tundra_*.deb | head -n 1)
[ -f "$deb" ] || fail "no .deb in $DEB_BUILD_DIR"
log "package: $deb ($(du -k "$deb" | cut -f1) KiB)"

depends=$(dpkg-deb -f "$deb" Depends)
log "Depends: $depends"
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for want in /usr/bin/tundra /usr/share/man/man8/tundra.8 /usr/share/man/man5/tundra.conf.5 \
  '/usr/lib/systemd/system/tundra@.service' /usr/share/bash-completion/completions/tundra; do
  grep -qxF "$want" <<<"$files" || fail "package lacks $want"
done

# Save files the package would overwrite (an earlier make install PREFIX=/usr).
for f in $files; do
  if [ -f "$f" ] && ! dpkg -S "$f" >/dev/null 2>&1; then
    mkdir -p "$backup/root$(dirname "$f")"
    cp -a "$f" "$backup/root$f"
  fi
done

dpkg -i "$deb" >/dev/null || fail "dpkg -i failed"
installed=1
log "installed"

# Every shared library the binary loads belongs to a package the control file names.
for lib in $(ldd /usr/bin/tundra | awk '/=> \// {print $3}'); do
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1) ||
    pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$pkg" ] || fail "$lib belongs to no package"
  tr ',|' '\n\n' <<<"$depends" | awk '{print $1}' | grep -qxF "$pkg" ||
    fail "$lib is from $pkg, which Depends does not name"
done
log "ldd: every library's package is in Depends"

systemd-analyze verify 'tundra@pkgtest0.service' >/dev/null 2>"$backup/verify" ||
  fail "systemd-analyze verify: $(cat "$backup/verify")"
[ ! -s "$backup/verify" ] || fail "systemd-analyze verify warnings: $(cat "$backup/verify")"
man -w tundra >/dev/null && man -w 5 tundra.conf >/dev/null || fail "man pages not found by man"
bash -c '. /usr/share/bash-completion/bash_completion 2>/dev/null || true
         . /usr/share/bash-completion/completions/tundra; complete -p tundra' >/dev/null ||
  fail "bash completion does not load"
log "unit verified, man pages and completion in place"

out=$backup/demo.log
(cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin tundra demo --seconds 2) >"$out" 2>&1 ||
  fail "tundra demo from the installed binary failed: $(tail -n 20 "$out")"
grep -q '^demo: OK' "$out" || fail "demo output: $(tail -n 20 "$out")"
log "installed tundra demo: $(grep -o '[0-9.]* Mbit/s, every byte arrived' "$out")"

dpkg --purge tundra >/dev/null || fail "dpkg --purge failed"
installed=0
for f in $files; do
  [ -f "$f" ] && [ ! -f "$backup/root$f" ] && fail "$f left after purge"
done
dpkg-query -W tundra >/dev/null 2>&1 && fail "dpkg still knows tundra after purge"
ls /var/run/wireguard 2>/dev/null | grep -q '^tdemo' && fail "demo sockets left behind"
log "purged: nothing left. OK"
