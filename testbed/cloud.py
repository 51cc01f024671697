#!/usr/bin/env python3
"""The testbed's emulated cloud: a TLS server that reads and counts what devices upload.

It runs inside the cloud network namespace (203.0.113.10 by default), accepts TLS
connections on --port with the self-signed certificate `testbed.py up` made, reads
everything each client sends and throws it away, and writes JSON lines to --log:

  {"t": 1700000000.123, "event": "listening", "port": 8443}
  {"t": ..., "event": "connect", "peer": "192.168.77.10:40312", "conn": 1}
  {"t": ..., "event": "recv", "peer": ..., "conn": 1, "bytes": 11000, "total": 22000}
                         (at most one per connection per --report seconds while data flows)
  {"t": ..., "event": "close", "peer": ..., "conn": 1, "bytes": 123456, "seconds": 12.3}

It never answers with application data, so what the gateway capture shows downstream is
TLS handshakes and TCP acknowledgements only. Python standard library only.
"""

import argparse
import json
import signal
import socket
import ssl
import sys
import threading
import time

_log_lock = threading.Lock()
_log_file = None


def log(event, **fields):
    rec = {"t": round(time.time(), 6), "event": event}
    rec.update(fields)
    line = json.dumps(rec, separators=(",", ":"))
    with _log_lock:
        _log_file.write(line + "\n")
        _log_file.flush()


def serve_client(ctx, raw, addr, conn_id, report_s):
    peer = f"{addr[0]}:{addr[1]}"
    started = time.time()
    total = 0
    pending = 0
    last_report = started
    log("connect", peer=peer, conn=conn_id)
    sock = raw
    try:
        raw.settimeout(30)
        # wrap_socket takes raw's file descriptor over: use only `sock` from here on
        sock = ctx.wrap_socket(raw, server_side=True)
        sock.settimeout(600)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            total += len(data)
            pending += len(data)
            now = time.time()
            if now - last_report >= report_s:
                log("recv", peer=peer, conn=conn_id, bytes=pending, total=total)
                pending = 0
                last_report = now
    except (OSError, ssl.SSLError) as e:
        log("error", peer=peer, conn=conn_id, error=str(e))
    finally:
        if pending:
            log("recv", peer=peer, conn=conn_id, bytes=pending, total=total)
        log(
            "close",
            peer=peer,
            conn=conn_id,
            bytes=total,
            seconds=round(time.time() - started, 3),
        )
        try:
            sock.close()
        except OSError:
            pass


def main():
    global _log_file
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--report", type=float, default=1.0, help="seconds between recv records")
    a = ap.parse_args()

    _log_file = open(a.log, "a", buffering=1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(64)

    def stop(_sig, _frm):
        log("stop")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("listening", port=a.port)
    conn_id = 0
    while True:
        raw, addr = srv.accept()
        conn_id += 1
        threading.Thread(
            target=serve_client, args=(ctx, raw, addr, conn_id, a.report), daemon=True
        ).start()


if __name__ == "__main__":
    main()
