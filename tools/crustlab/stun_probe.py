#!/usr/bin/env python3
"""A STUN binding probe for checking the lab itself (not crust's client):
sends Binding Requests from one local UDP port to each server given and
prints the XOR-MAPPED-ADDRESS each one saw, as JSON."""
import json
import os
import socket
import struct
import sys

MAGIC = 0x2112A442


def binding(sock, server, timeout=2.0, tries=3):
    txid = os.urandom(12)
    req = struct.pack("!HHI", 0x0001, 0, MAGIC) + txid
    sock.settimeout(timeout)
    for _ in range(tries):
        sock.sendto(req, server)
        try:
            data, _ = sock.recvfrom(2048)
        except socket.timeout:
            continue
        mtype, length, magic = struct.unpack("!HHI", data[:8])
        if mtype != 0x0101 or magic != MAGIC or data[8:20] != txid:
            continue
        pos = 20
        while pos + 4 <= 20 + length:
            atype, alen = struct.unpack("!HH", data[pos:pos + 4])
            val = data[pos + 4:pos + 4 + alen]
            if atype == 0x0020 and val[1] == 0x01:
                port = struct.unpack("!H", val[2:4])[0] ^ (MAGIC >> 16)
                ip = struct.unpack("!I", val[4:8])[0] ^ MAGIC
                return "%s:%d" % (socket.inet_ntoa(struct.pack("!I", ip)), port)
            pos += 4 + alen + (-alen % 4)
    return None


def main():
    local_port = int(sys.argv[1])
    servers = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in sys.argv[2:]]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", local_port))
    print(json.dumps({"%s:%d" % s: binding(sock, s) for s in servers}))


if __name__ == "__main__":
    main()
