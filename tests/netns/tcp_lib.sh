# Helpers for the TCP transport tests (sourced after lib.sh): tundra's UAPI extensions
# (docs/tcp-transport.md) written and read with a few lines of python, nftables rules that drop
# every UDP datagram in one namespace, and a sha256-checked transfer.

# uapi IFNAME TEXT: sends TEXT (with \n escapes) to the UAPI socket, prints the reply.
uapi() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(f"/var/run/wireguard/{sys.argv[1]}.sock")
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode()); out = b""
while not out.endswith(b"\n\n"):
    chunk = s.recv(4096)
    if not chunk: break
    out += chunk
print(out.decode().strip())
PY
}
# uapi_set IFNAME LINES...: a set=1 of the lines; fails unless errno=0.
uapi_set() {
  local ifn=$1; shift
  local body="set=1\n"
  for l in "$@"; do body+="$l\n"; done
  local reply; reply=$(uapi "$ifn" "$body\n")
  [ "$reply" = "errno=0" ] || fail "$ifn: set ${*}: $reply"
}
hexkey() { base64 -d < "$1" | od -An -tx1 | tr -d ' \n'; }
# transport_of IFNAME PUBFILE -> "udp" or "tcp": the transport that peer's endpoint uses now.
transport_of() {
  local want; want=$(hexkey "$2")
  uapi "$1" "tundra_transports=1\n\n" |
    awk -F= -v k="$want" '$1 == "public_key" {p = ($2 == k)} p && $1 == "transport_in_use" {print $2}'
}
tcp_stat() { stat_of "$1" "$2"; }

# block_udp NS / unblock_udp NS: every UDP datagram in or out of NS dropped (and counted by nft).
block_udp() {
  in_ns "$1" nft -f - <<'NFT'
table inet tundra_block_udp {
  chain in { type filter hook input priority 0; meta l4proto udp counter drop; }
  chain out { type filter hook output priority 0; meta l4proto udp counter drop; }
}
NFT
}
unblock_udp() { in_ns "$1" nft delete table inet tundra_block_udp; }
udp_dropped() {  # packets the rules dropped in NS
  in_ns "$1" nft list table inet tundra_block_udp | awk '/counter/ {for (i=1;i<=NF;i++) if ($i=="packets") s+=$(i+1)} END {print s+0}'
}

# sha_transfer SRC_NS DST_NS DST_ADDR BYTES [PORT]: BYTES of varied content over one TCP
# connection, sha256 compared on both ends; prints the Mbit/s. The content: random bytes, or
# compressible text (numbered repeated lines) when TRANSFER_CONTENT=text.
sha_transfer() {
  local src=$1 dst=$2 addr=$3 bytes=$4 port=${5:-5001}
  in_ns "$dst" python3 - "$addr" "$port" > "$LOG_DIR/rx.sum" <<'PY' &
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
while (b := c.recv(1 << 20)):
    h.update(b); n += len(b)
print(n, h.hexdigest())
PY
  local rx=$!
  sleep 0.5
  local start; start=$(date +%s.%N)
  in_ns "$src" python3 - "$addr" "$port" "$bytes" "${TRANSFER_CONTENT:-random}" > "$LOG_DIR/tx.sum" <<'PY' || fail "sender failed"
import hashlib, random, socket, sys
total = int(sys.argv[3]); rng = random.Random(7); block = rng.randbytes(1 << 20)
if sys.argv[4] == "text":
    block = "".join(f"{i:08d} tundra compression test: the same words again and again\n" for i in range(16384)).encode()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60); h = hashlib.sha256(); sent = 0
while sent < total:
    chunk = block[: min(len(block), total - sent)]
    s.sendall(chunk); h.update(chunk); sent += len(chunk)
    block = block[1:] + block[:1]
s.shutdown(socket.SHUT_WR); s.recv(1); print(sent, h.hexdigest())
PY
  wait "$rx" || fail "receiver failed"
  local end; end=$(date +%s.%N)
  [ "$(cat "$LOG_DIR/tx.sum")" = "$(cat "$LOG_DIR/rx.sum")" ] ||
    fail "transfer not byte-exact: sent $(cat "$LOG_DIR/tx.sum"), received $(cat "$LOG_DIR/rx.sum")"
  python3 -c "print(f'{$bytes * 8 / ($end - $start) / 1e6:.0f}')"
}
