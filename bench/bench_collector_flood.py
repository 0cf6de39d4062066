"""The Finnhub collector's memory under an endless flood of invalid trades (issue 14).

A bare-socket WebSocket server on loopback sends one message of 500 invalid trades (negative prices) after another,
as fast as the collector reads; `FinnhubCollector` with the project's default limits collects for 25 s in a process
of its own. Prints the process's peak RSS beside its RSS once started, the records rejected, those written and those
only counted past `max_rejected_bytes`, and the bytes of rejects on disk.

Run: .venv/bin/python bench/bench_collector_flood.py [--seconds 25]
"""
import argparse
import base64
import hashlib
import json
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PROBE = """
import json, resource, sys
from financial_transactions.runtime import load_project_config
from financial_transactions.streaming.finnhub_collector import FinnhubCollector
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
col = FinnhubCollector.from_config(load_project_config("local"), url=sys.argv[1], symbols=["AAPL"])
col.landing_dir, col.rejected_dir = __import__("pathlib").Path(sys.argv[2]), __import__("pathlib").Path(sys.argv[2] + "_rejected")
st = col.run(duration=float(sys.argv[3]))
print(json.dumps({"base_mb": base / 1024, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rejected": st.rejected, "unsaved": st.unsaved_rejects, "limit": col.max_rejected_bytes}))
"""


def frame(payload: bytes) -> bytes:
    n = len(payload)
    return b"\x81" + (bytes([n]) if n < 126 else bytes([126]) + struct.pack("!H", n) if n < 65536 else bytes([127]) + struct.pack("!Q", n)) + payload


def serve(sock: socket.socket, stop: threading.Event, msg: bytes):
    c, _ = sock.accept()
    req = b""
    while b"\r\n\r\n" not in req: req += c.recv(4096)
    key = re.search(rb"Sec-WebSocket-Key: *(\S+)", req, re.I).group(1)
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    threading.Thread(target=lambda: [None for _ in iter(lambda: c.recv(65536), b"")], daemon=True).start()
    try:
        while not stop.is_set(): c.sendall(msg)
    except OSError: pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=25.0, help="how long the collector runs (default 25)")
    a = ap.parse_args()
    msg = frame(json.dumps({"type": "trade", "data": [{"s": "AAPL", "p": -1, "t": 1795444200155, "v": 1}] * 500}).encode())
    sock, stop = socket.create_server(("127.0.0.1", 0)), threading.Event()
    threading.Thread(target=serve, args=(sock, stop, msg), daemon=True).start()
    d = tempfile.mkdtemp()
    r = subprocess.run([sys.executable, "-c", PROBE, f"ws://127.0.0.1:{sock.getsockname()[1]}", f"{d}/fh", str(a.seconds)],
                       capture_output=True, text=True, timeout=a.seconds + 120)
    stop.set()
    res = json.loads(r.stdout.splitlines()[-1])
    on_disk = sum(f.stat().st_size for f in Path(f"{d}/fh_rejected").glob("*.jsonl"))
    print(f"{a.seconds:g} s of invalid trades: {res['rejected']:,} rejected, {res['rejected'] - res['unsaved']:,} written "
          f"({on_disk / 2**20:.0f} MiB, max_rejected_bytes {res['limit'] / 2**20:.0f} MiB), {res['unsaved']:,} counted only; "
          f"peak RSS {res['peak_mb']:.0f} MB ({res['base_mb']:.0f} MB once started)")


if __name__ == "__main__":
    main()
