#!/bin/bash
# Keeps tundra(8), `tundra --help`, every command's --help and the bash completion true to each
# other: each command `tundra --help` lists is documented in the man page (a ".SS" heading under
# COMMANDS) and vice versa; each runs `--help` (exit 0, its own usage line); each long option a
# command's --help names appears in its man page section; the completion offers exactly the
# commands; both man pages format without groff warnings.
set -euo pipefail
: "${TUNDRA_BIN:?}" "${SRC_DIR:?}"
man8=$SRC_DIR/dist/man/tundra.8 man5=$SRC_DIR/dist/man/tundra.conf.5
completion=$SRC_DIR/dist/bash-completion/tundra

fail() { echo "man_help: FAIL: $*" >&2; exit 1; }

help=$("$TUNDRA_BIN" --help)
binary=$(echo "$help" | sed -n '/^Commands:/,/^$/p' | awk '/^  [a-z]/ {print $1}' | sort)
[ -n "$binary" ] || fail "no commands in 'tundra --help'"
man=$(awk '/^\.SH COMMANDS/ {on=1; next} /^\.SH/ {on=0} on && /^\.SS/ {gsub(/"/, ""); print $2}' "$man8" | sort)
[ "$binary" = "$man" ] || fail "commands differ: binary vs man page:
$(diff <(echo "$binary") <(echo "$man") || true)"

completion_cmds=$(sed -n 's/^ *local commands="\(.*\)"$/\1/p' "$completion" | tr ' ' '\n' | sort)
[ "$completion_cmds" = "$man" ] || fail "bash completion commands differ from the man page:
$(diff <(echo "$man") <(echo "$completion_cmds") || true)"

# The man page section of command $1, dashes unescaped.
section() {
  awk -v c="$1" '/^\.SS/ {line=$0; gsub(/"/, "", line); split(line, w, " "); on = (w[2] == c)}
                 /^\.SH/ {on=0} on' "$man8" | sed 's/\\-/-/g'
}

n_opts=0
for c in $binary; do
  out=$("$TUNDRA_BIN" "$c" --help) || fail "tundra $c --help: exit $?"
  echo "$out" | grep -q "^Usage: tundra $c" || fail "tundra $c --help: no 'Usage: tundra $c' line"
  text=$(section "$c")
  for opt in $(echo "$out" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
    [ "$opt" = --help ] && continue
    # impair's --NAME-up/--NAME-down variants are documented together as --NAME-up/-down.
    base=${opt%-up}; base=${base%-down}
    if ! grep -qF -- "$opt" <<<"$text" && ! grep -qF -- "$base" <<<"$text"; then
      fail "tundra $c --help names $opt, its man page section does not"
    fi
    n_opts=$((n_opts + 1))
  done
done

# The wireguard-go contract and the escape hatch for an interface named like a command.
grep -q "tundra daemon NAME" <<<"$help" || fail "'tundra --help' does not say how to run an interface named like a command"

for page in "$man8" "$man5"; do
  warnings=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed on $page"
  [ -z "$warnings" ] || fail "groff warnings on $page: $warnings"
done
echo "man_help: $(echo "$binary" | wc -l) commands, $n_opts options: all documented"
