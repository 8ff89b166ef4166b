#!/usr/bin/env python3
"""Draws crust-bench's JSON results as an SVG bar chart (no dependencies):
throughput in MB/s per message size for crust (also with batched delivery to
its routing layer: the `batched_mb` rows), raw TCP and ZeroMQ CURVE, with
one-core ChaCha20-Poly1305 as the dashed line every encrypted transport is
bounded by.   usage: plot.py RESULTS.json OUT.svg"""
import json
import sys

SYSTEMS = [("crust", "#d9534f"), ("crust-batched", "#5cb85c"), ("crust-chacha", "#a94442"),
           ("crust-udp", "#f0ad4e"), ("tcp", "#999999"), ("zmq-curve", "#337ab7")]
LABELS = {"crust": "crust (AES-GCM)", "crust-batched": "crust, batches",
          "crust-chacha": "crust ChaCha only", "crust-udp": "crust UDP",
          "tcp": "raw TCP (no crypto)", "zmq-curve": "ZeroMQ CURVE"}


def size_name(n):
    return "%d MiB" % (n >> 20) if n >= 1 << 20 else "%d KiB" % (n >> 10) if n >= 1024 else "%d B" % n


def main():
    data = json.load(open(sys.argv[1]))
    rows = [r for r in data["results"] if r["metric"] == "throughput_mb"]
    sizes = sorted({r["size"] for r in rows})
    value = {(r["system"], r["size"]): r["value"] for r in rows}
    value.update({("crust-batched", r["size"]): r["value"] for r in data["results"]
                  if r["metric"] == "batched_mb" and r["system"] == "crust"})
    aead = next((r["value"] for r in data["results"]
                 if r["metric"] == "aead_rate" and r["size"] == 65536), None)
    top = max([v for v in value.values()] + [aead or 0]) * 1.1
    w, h, left, bottom, top_pad = 900, 380, 70, 50, 40
    plot_w, plot_h = w - left - 20, h - bottom - top_pad
    group = plot_w / len(sizes)
    bar = group / (len(SYSTEMS) + 1)
    y = lambda v: top_pad + plot_h - v / top * plot_h
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14">Loopback throughput, MB/s (one connection)</text>' % left]
    for i in range(6):
        v = top * i / 5
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>' % (left, w - 20, y(v), y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (left - 6, y(v) + 4, v))
    for gi, size in enumerate(sizes):
        x0 = left + gi * group + bar / 2
        for si, (system, colour) in enumerate(SYSTEMS):
            v = value.get((system, size))
            if v is None:
                continue
            x = x0 + si * bar
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                       % (x, y(v), bar * 0.9, top_pad + plot_h - y(v), colour))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%.0f</text>'
                       % (x + bar * 0.45, y(v) - 3, v))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                   % (left + gi * group + group / 2, h - bottom + 18, size_name(size)))
    if aead:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black" stroke-dasharray="6,4"/>'
                   % (left, w - 20, y(aead), y(aead)))
        out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11">ChaCha20-Poly1305, one core: '
                   '%.0f MB/s</text>' % (w - 24, y(aead) - 5, aead))
    for si, (system, colour) in enumerate(SYSTEMS):
        lx = left + si * 138
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, h - 22, colour))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 16, h - 12, LABELS[system]))
    out.append("</svg>")
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
