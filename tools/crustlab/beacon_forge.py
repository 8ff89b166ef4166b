#!/usr/bin/env python3
"""Sends one forged LAN beacon: well-formed, claiming PEER at a made-up
endpoint, but with a signature that is not PEER's (64 random bytes).

Usage: beacon_forge.py TARGET_IP PORT NETWORK PEER_HEX
TARGET_IP may be an IPv4 broadcast address or an IPv6 address (e.g. the
link-local group ff02::5483%eth0). Used by the scenario step `forge-beacon`;
the format is discovery/beacon_packet.hpp's.
"""
import os
import socket
import struct
import sys
import time


def forged(network, peer_hex):
    peer = bytes.fromhex(peer_hex)
    assert len(peer) == 32
    record = bytes([1]) + peer + struct.pack(">QQ", int(time.time() * 1000), int(time.time()) + 3600)
    record += bytes([1]) + bytes([0, 4]) + bytes([10, 66, 66, 66]) + struct.pack(">H", 6666)
    record += os.urandom(64)  # not PEER's signature
    head = b"CRSTBCN" + bytes([1, 0, len(network)]) + network.encode()
    return head + record


def main():
    target, port, network, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    data = forged(network, peer)
    if ":" in target:
        host, _, scope = target.partition("%")
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        s.sendto(data, (host, port, 0, socket.if_nametoindex(scope) if scope else 0))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(data, (target, port))
    print("sent %d bytes" % len(data))


if __name__ == "__main__":
    main()
