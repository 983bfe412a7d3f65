#!/bin/bash
# `tundra show` against a real running pair (tundra <-> wireguard-go, with a preshared key):
# --json parsed with python3 and compared with `wg show dump`, --prometheus checked line by
# line (format and values), no key material in any output; then `tundra demo` end to end
# (output checked) and interrupted with SIGINT in the middle of its transfer (nothing left:
# processes, sockets, namespaces).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wg_pair.sh"
require_root

setup tundra wireguard-go 4 yes
ping_ok "$NS_A" 198.19.0.2 3 || fail "no ping through the tunnel"
ping_ok "$NS_B" fd19::1 3 || fail "no IPv6 ping through the tunnel"

"$TUNDRA_BIN" show "$IF_A" "$IF_B" --json >"$LOG_DIR/show.json" 2>"$LOG_DIR/show.err" ||
  fail "tundra show --json failed: $(cat "$LOG_DIR/show.err")"
"$TUNDRA_BIN" show "$IF_A" "$IF_B" --prometheus >"$LOG_DIR/show.prom" || fail "--prometheus failed"
"$TUNDRA_BIN" show "$IF_A" "$IF_B" >"$LOG_DIR/show.txt" || fail "tundra show failed"
wg show "$IF_A" dump >"$LOG_DIR/a.dump"
wg show "$IF_B" dump >"$LOG_DIR/b.dump"

# Secrets never appear (base64 or hex), in any format.
for key in "$LOG_DIR/a.key" "$LOG_DIR/b.key" "$LOG_DIR/psk"; do
  b64=$(cat "$key")
  hex=$(python3 -c 'import base64,sys; print(base64.b64decode(sys.argv[1]).hex())' "$b64")
  for out in show.json show.prom show.txt; do
    if grep -qF -e "$b64" -e "$hex" "$LOG_DIR/$out"; then fail "$out holds a secret key"; fi
  done
done

python3 - "$LOG_DIR" "$IF_A" "$IF_B" <<'PY' || fail "--json does not match wg show dump"
import json, sys
d, if_a, if_b = sys.argv[1:]
j = json.load(open(f"{d}/show.json"))
by_name = {i["name"]: i for i in j["interfaces"]}
assert set(by_name) == {if_a, if_b}, by_name.keys()
for name, dump in ((if_a, "a.dump"), (if_b, "b.dump")):
    lines = [l.split("\t") for l in open(f"{d}/{dump}").read().splitlines()]
    iface, peers = lines[0], lines[1:]
    i = by_name[name]
    assert i["public_key"] == iface[1], (i["public_key"], iface)
    assert i["listen_port"] == int(iface[2]), (i["listen_port"], iface)
    assert i["fwmark"] == (0 if iface[3] == "off" else int(iface[3], 0))
    assert len(i["peers"]) == len(peers) == 1
    p, w = i["peers"][0], peers[0]
    assert p["public_key"] == w[0]
    assert p["preshared_key"] is True and w[1] != "(none)"  # the dump prints the psk itself
    assert p["endpoint"] == w[2], (p["endpoint"], w[2])
    assert ",".join(p["allowed_ips"]) == w[3], (p["allowed_ips"], w[3])
    assert p["latest_handshake"] == int(w[4]) and p["latest_handshake"] > 0
    # Counters only grow; the dump was read just after the JSON.
    assert 0 < p["transfer_rx"] <= int(w[5]), (p["transfer_rx"], w[5])
    assert 0 < p["transfer_tx"] <= int(w[6]), (p["transfer_tx"], w[6])
    assert p["persistent_keepalive"] == (0 if w[7] == "off" else int(w[7]))
t = by_name[if_a]["tundra"]
assert t is not None and isinstance(t["dropped"], dict) and "no_route" in t["dropped"], t
assert t["dropped_total"] == sum(t["dropped"].values())
assert "tun_segments_split" in t["counters"], t
assert by_name[if_b]["tundra"] is None  # wireguard-go has no tundra counters
print("json ok")
PY

python3 - "$LOG_DIR" "$IF_A" "$IF_B" <<'PY' || fail "--prometheus output is not valid or wrong"
import json, re, sys
d, if_a, if_b = sys.argv[1:]
j = {i["name"]: i for i in json.load(open(f"{d}/show.json"))["interfaces"]}
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
help_re = re.compile(rf"# HELP ({name_re}) \S.*")
type_re = re.compile(rf"# TYPE ({name_re}) (counter|gauge)")
sample_re = re.compile(rf'({name_re})\{{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\}} ([0-9]+)')
families, current, samples, typed = [], None, {}, {}
for n, line in enumerate(open(f"{d}/show.prom").read().splitlines(), 1):
    if m := help_re.fullmatch(line):
        assert m[1] not in families, f"line {n}: family {m[1]} twice"
        families.append(m[1]); current = m[1]
    elif m := type_re.fullmatch(line):
        assert m[1] == current, f"line {n}: TYPE for {m[1]} after HELP for {current}"
        typed[m[1]] = m[2]
        assert m[2] != "counter" or m[1].endswith("_total"), f"line {n}: counter without _total"
    elif m := sample_re.fullmatch(line):
        assert m[1] == current and m[1] in typed, f"line {n}: sample outside its family"
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m[2]))
        assert labels.get("interface") in (if_a, if_b), f"line {n}: interface label"
        samples[(m[1], tuple(sorted(labels.items())))] = int(m[3])
    else:
        raise AssertionError(f"line {n}: not exposition format: {line!r}")
def get(metric, **labels):
    return samples[(metric, tuple(sorted(labels.items())))]
for name, i in j.items():
    assert get("tundra_interface_listen_port", interface=name) == i["listen_port"]
    assert get("tundra_interface_peers", interface=name) == len(i["peers"])
    for p in i["peers"]:
        k = dict(interface=name, peer=p["public_key"])
        # Read after the JSON: counters only grow, and not by much in between.
        assert get("tundra_peer_receive_bytes_total", **k) >= p["transfer_rx"]
        assert get("tundra_peer_transmit_bytes_total", **k) >= p["transfer_tx"]
        assert get("tundra_peer_latest_handshake_seconds", **k) == p["latest_handshake"]
        assert get("tundra_peer_persistent_keepalive_seconds", **k) == p["persistent_keepalive"]
t = j[if_a]["tundra"]
for reason, v in t["dropped"].items():
    assert get("tundra_dropped_packets_total", interface=if_a, reason=reason) >= v
assert get("tundra_tun_segments_split_total", interface=if_a) >= t["counters"]["tun_segments_split"]
assert not any(dict(l).get("interface") == if_b and m.startswith("tundra_dropped")
               for m, l in samples)
print(f"prometheus ok: {len(families)} families, {len(samples)} samples")
PY

grep -q "^interface: $IF_A$" "$LOG_DIR/show.txt" && grep -q "preshared key: (hidden)" "$LOG_DIR/show.txt" ||
  fail "text output: $(cat "$LOG_DIR/show.txt")"
# Without NAME: every socket in /var/run/wireguard, both of ours among them.
"$TUNDRA_BIN" show --json | python3 -c '
import json, sys
names = {i["name"] for i in json.load(sys.stdin)["interfaces"]}
assert {sys.argv[1], sys.argv[2]} <= names, names' "$IF_A" "$IF_B" || fail "show without NAME"
if "$TUNDRA_BIN" show "nosuch$RUN_ID" 2>"$LOG_DIR/err"; then fail "show of a missing interface"; fi
grep -q "nosuch$RUN_ID" "$LOG_DIR/err" || fail "error does not name the interface"
# An interface literally named like a command: `tundra daemon demo` (while `tundra demo` is the
# demo). The socket name is global: leave it alone if someone else's demo.sock exists.
if [ -e /var/run/wireguard/demo.sock ]; then
  log "/var/run/wireguard/demo.sock exists already: not testing an interface named 'demo'"
else
  CLEANUP_HOOKS+=("ip -n $NS_A link del demo 2>/dev/null")
  in_ns "$NS_A" "$TUNDRA_BIN" daemon demo || fail "tundra daemon demo"
  "$TUNDRA_BIN" show demo --json | python3 -c '
import json, sys; assert json.load(sys.stdin)["interfaces"][0]["name"] == "demo"' ||
    fail "tundra show demo"
  in_ns "$NS_A" ip link show demo >/dev/null || fail "no interface named demo"
  ip -n "$NS_A" link del demo
  wait_for 50 test ! -e /var/run/wireguard/demo.sock || fail "demo.sock left behind"
fi
teardown
log "show: json, prometheus and text agree with wg show dump"

# --- tundra demo, end to end ---
"$TUNDRA_BIN" demo --seconds 2 >"$LOG_DIR/demo.log" 2>&1 || fail "tundra demo failed: $(tail -n 30 "$LOG_DIR/demo.log")"
for want in "3 packets transmitted, 3 received" "every byte arrived" "^interface: tdemo" \
  "latest handshake:" "^demo: OK"; do
  grep -q -- "$want" "$LOG_DIR/demo.log" || fail "demo output lacks '$want'"
done
[ "$(grep -c "3 packets transmitted, 3 received" "$LOG_DIR/demo.log")" = 4 ] || fail "not 4 pings"
grep -q "private key: (hidden)" "$LOG_DIR/demo.log" || fail "demo show output"
# The progress line (one per second without a terminal, and the last): time and MiB never
# fall, and the last shows bytes and a rate.
python3 - "$LOG_DIR/demo.log" <<'PY' || fail "demo progress lines: $(grep 'MiB' "$LOG_DIR/demo.log")"
import re, sys
rows = [tuple(map(float, m.groups())) for m in
        re.finditer(r"^ +([0-9.]+) s +([0-9.]+) MiB +([0-9.]+) Mbit/s$", open(sys.argv[1]).read(), re.M)]
assert len(rows) >= 2, rows
assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(rows, rows[1:])), rows
assert rows[-1][1] > 0 and rows[-1][2] > 0, rows
PY
mbit=$(sed -n 's/.*: \([0-9.]*\) Mbit\/s, every byte arrived/\1/p' "$LOG_DIR/demo.log")
log "demo: OK, $mbit Mbit/s"

# --- SIGINT in the middle of the transfer leaves nothing behind ---
"$TUNDRA_BIN" demo --seconds 60 >"$LOG_DIR/demo-int.log" 2>&1 &
demo_pid=$!
CLEANUP_HOOKS+=("kill $demo_pid 2>/dev/null")
wait_for 300 grep -q "TCP stream" "$LOG_DIR/demo-int.log" || fail "demo did not reach the transfer"
sleep 1
daemons=$(pgrep -f "daemon -f tdemo${demo_pid}[ab]" || true)
[ "$(echo "$daemons" | wc -w)" = 2 ] || fail "expected 2 demo daemons, found '$daemons'"
nets=$(for p in $daemons; do readlink "/proc/$p/ns/net"; done | sort -u)
[ "$(echo "$nets" | wc -l)" = 2 ] || fail "daemons not in two namespaces: $nets"
kill -INT "$demo_pid"
rc=0; wait "$demo_pid" || rc=$?
[ "$rc" = 130 ] || fail "demo exit status after SIGINT: $rc (want 130 = 128 + SIGINT)"
grep -q "Tearing down" "$LOG_DIR/demo-int.log" || fail "no teardown after SIGINT"
for p in $daemons; do [ ! -e "/proc/$p" ] || fail "daemon $p still running"; done
ls /var/run/wireguard/ 2>/dev/null | grep -q "tdemo${demo_pid}" && fail "demo socket left behind"
for ns in $nets; do
  # No process and no descriptor holds the namespace any more: the kernel has freed it.
  if find /proc/[0-9]*/ns/net /proc/[0-9]*/fd -maxdepth 1 -lname "$ns" 2>/dev/null | grep -q .; then
    fail "namespace $ns still held"
  fi
done
log "demo: SIGINT mid-transfer: exit 130, daemons, sockets and namespaces gone"
