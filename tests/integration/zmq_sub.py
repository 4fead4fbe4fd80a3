#!/usr/bin/python3
"""A ZMQ subscriber (Debian's python3-zmq): subscribes to every topic on each
endpoint given and prints one JSON line per 3-part message until killed or
the deadline passes.

usage: zmq_sub.py SECONDS ENDPOINT...
"""
import json
import sys
import time

import zmq


def main():
    deadline = time.monotonic() + float(sys.argv[1])
    ctx = zmq.Context()
    poller = zmq.Poller()
    socks = []
    for ep in sys.argv[2:]:
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(ep)
        poller.register(s, zmq.POLLIN)
        socks.append(s)
    print(json.dumps({"ready": True}), flush=True)
    while time.monotonic() < deadline:
        for s, _ in poller.poll(200):
            parts = s.recv_multipart()
            out = {"ep": sys.argv[2 + socks.index(s)], "parts": len(parts)}
            if len(parts) == 3:
                out.update(topic=parts[0].decode(), body=parts[1].hex(),
                           seq=int.from_bytes(parts[2], "little"), seqlen=len(parts[2]))
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
