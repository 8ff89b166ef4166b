#!/usr/bin/env python3
"""Hostile clients for the abuse scenarios (tests/tools/abuse_lab.py). Runs
inside a namespace the test created and talks only to the address it is
given. Every mode is bounded in connections and seconds, and prints one JSON
line of what it saw.

  hold HOST PORT N SECONDS [SRC...]       open N TCP connections, send nothing
  slowloris HOST PORT N SECONDS [SRC...]  open N, then dribble one byte a second
  garbage HOST PORT SECONDS               connect, send random bytes, repeat
  churn HOST PORT SECONDS                 connect and close as fast as possible
  udp_garbage HOST PORT SECONDS           random datagrams at the UDP port
  record LISTEN_PORT HOST PORT FILE SECONDS
                                          a TCP proxy recording what the first
                                          client sends (a real handshake and data)
  replay HOST PORT FILE N                 send that recording on N new connections
"""
import errno
import json
import os
import random
import resource
import selectors
import socket
import sys
import time


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def open_many(host, port, n, sources, deadline):
    """Non-blocking connects, round-robin over source addresses."""
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        if time.monotonic() > deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if sources:
            s.bind((sources[i % len(sources)], 0))
        err = s.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    return sel, socks


def watch(sel, socks, seconds, dribble=False):
    """Keeps the sockets until `seconds` pass; counts the ones the server
    closed (EOF or reset) and those still open at the end."""
    closed = set()
    connected = set()
    end = time.monotonic() + seconds
    next_drip = time.monotonic() + 1.0
    header_sent = set()
    while time.monotonic() < end and len(closed) < len(socks):
        for key, mask in sel.select(timeout=0.2):
            s = key.fileobj
            if mask & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected.add(s)
                sel.modify(s, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    closed.add(s)
                    sel.unregister(s)
        if dribble and time.monotonic() >= next_drip:
            next_drip += 1.0
            for s in socks:
                if s in closed or s not in connected:
                    continue
                try:
                    # A frame header announcing 1000 bytes, then one byte a second.
                    s.send(b"\x03\xe8" if s not in header_sent else b"\x00")
                    header_sent.add(s)
                except OSError:
                    pass
    result = {"opened": len(socks), "connected": len(connected),
              "closed_by_server": len(closed), "still_open": len(socks) - len(closed)}
    for s in socks:
        s.close()
    return result


def mode_hold(host, port, n, seconds, sources, dribble=False):
    raise_fd_limit()
    t0 = time.monotonic()
    sel, socks = open_many(host, port, n, sources, t0 + seconds / 2)
    return watch(sel, socks, seconds - (time.monotonic() - t0), dribble)


def mode_garbage(host, port, seconds):
    rng = random.Random(8)
    end = time.monotonic() + seconds
    conns = closed = sent = 0
    while time.monotonic() < end and conns < 5000:
        try:
            s = socket.create_connection((host, port), timeout=2)
        except OSError:
            time.sleep(0.01)
            continue
        conns += 1
        s.settimeout(2)
        try:
            junk = bytes(rng.getrandbits(8) for _ in range(4096))
            s.sendall(junk)
            sent += len(junk)
            if s.recv(65536) == b"" or True:
                # Read until the server gives up on us.
                while s.recv(65536):
                    pass
                closed += 1
        except OSError:
            closed += 1
        finally:
            s.close()
    return {"connections": conns, "closed_by_server": closed, "bytes_sent": sent}


def mode_churn(host, port, seconds):
    # At most 20,000 connects, spread over the whole time (a victim that
    # refuses cheaply would otherwise see them all within a second).
    start = time.monotonic()
    end = start + seconds
    per_second = 20000 / seconds
    ok = refused = 0
    while time.monotonic() < end and ok + refused < 20000:
        if ok + refused >= per_second * (time.monotonic() - start):
            time.sleep(0.001)
            continue
        try:
            s = socket.create_connection((host, port), timeout=1)
            s.close()
            ok += 1
        except OSError:
            refused += 1
    return {"connects": ok, "failed": refused}


def mode_udp_garbage(host, port, seconds):
    rng = random.Random(9)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and n < 200000:
        size = rng.choice([1, 20, 100, 1200, 1400])
        d = bytes(rng.getrandbits(8) for _ in range(size))
        try:
            s.sendto(d, (host, port))
            n += 1
        except OSError:
            time.sleep(0.001)
    return {"datagrams": n}


def mode_record(listen_port, host, port, path, seconds):
    """Proxies the first client to HOST:PORT, recording what it sends."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", listen_port))
    ls.listen(1)
    ls.settimeout(seconds)
    print(json.dumps({"listening": listen_port}), flush=True)
    client, _ = ls.accept()
    upstream = socket.create_connection((host, port), timeout=5)
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, upstream)
    sel.register(upstream, selectors.EVENT_READ, client)
    recorded = bytearray()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            src, dst = key.fileobj, key.data
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                end = 0
                break
            if src is client:
                recorded += data
                with open(path, "wb") as f:
                    f.write(recorded)
            dst.sendall(data)
    client.close()
    upstream.close()
    return {"recorded": len(recorded)}


def mode_replay(host, port, path, n):
    with open(path, "rb") as f:
        data = f.read()
    closed = 0
    answered = 0
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.settimeout(5)
        try:
            s.sendall(data)
            got = 0
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
            answered += 1 if got else 0
            closed += 1
        except OSError:
            closed += 1
        finally:
            s.close()
    return {"replays": n, "bytes": len(data), "closed_by_server": closed, "answered": answered}


def main():
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode in ("hold", "slowloris"):
        r = mode_hold(rest[0], int(rest[1]), min(int(rest[2]), 20000), min(float(rest[3]), 120),
                      rest[4:], dribble=(mode == "slowloris"))
    elif mode == "garbage":
        r = mode_garbage(rest[0], int(rest[1]), min(float(rest[2]), 120))
    elif mode == "churn":
        r = mode_churn(rest[0], int(rest[1]), min(float(rest[2]), 120))
    elif mode == "udp_garbage":
        r = mode_udp_garbage(rest[0], int(rest[1]), min(float(rest[2]), 120))
    elif mode == "record":
        r = mode_record(int(rest[0]), rest[1], int(rest[2]), rest[3], min(float(rest[4]), 120))
    elif mode == "replay":
        r = mode_replay(rest[0], int(rest[1]), rest[2], min(int(rest[3]), 1000))
    else:
        print("unknown mode", mode, file=sys.stderr)
        return 2
    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
