#!/usr/bin/env python3
"""TCP helper of impair_netns.sh (c).

  impair_tcp.py sink ADDR PORT N OUT   accept N connections, read each to EOF; OUT gets a JSON
                                       list of {bytes, sha256, end} (CLOCK_MONOTONIC), OUT.ready
                                       is created once listening
  impair_tcp.py send ADDR PORT BYTES N OUT
                                       N connections at once, BYTES random bytes each, then FIN;
                                       OUT gets a JSON list of {bytes, sha256, start}
"""
import hashlib, json, os, socket, sys, threading, time


def sink(addr, port, n, out):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(n)
    open(out + ".ready", "w").close()
    results = []

    def read(conn):
        h, total = hashlib.sha256(), 0
        while True:
            b = conn.recv(65536)
            if not b:
                break
            h.update(b)
            total += len(b)
        results.append({"bytes": total, "sha256": h.hexdigest(), "end": time.monotonic()})
        conn.close()

    threads = []
    for _ in range(n):
        conn, _ = srv.accept()
        t = threading.Thread(target=read, args=(conn,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    json.dump(results, open(out, "w"))


def send(addr, port, size, n, out):
    results = []

    def one():
        data = os.urandom(size)
        s = socket.create_connection((addr, port))
        start = time.monotonic()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # the relay passes the sink's FIN back
        s.close()
        results.append({"bytes": size, "sha256": hashlib.sha256(data).hexdigest(), "start": start})

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(results) != n:
        sys.exit(f"only {len(results)} of {n} connections finished")
    json.dump(results, open(out, "w"))


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
