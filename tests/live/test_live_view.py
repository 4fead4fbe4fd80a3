#!/usr/bin/env python3
"""The live view in the browser (tools/testnet view, tools/live/) in headless Chromium.

A 5-node regtest testnet is started with `tools/testnet up --detach`, its live view
with `tools/testnet view`, and Chromium (headless, driven over the DevTools protocol
with a small WebSocket client: python3 standard library only) opens the page. Once
the page is live three blocks are mined (at n1, n3, n5) and a tx is sent at n4. The test asserts that the page
  * shows the 5 nodes and the topology's links (from /info),
  * receives the events (Server-Sent Events) and shows the last block reaching 5/5 nodes
    in its table, with every non-origin node lit and a first-seen edge per node,
  * draws a coverage curve for it,
and keeps a screenshot as a test artefact: BUILD/tests/live/live-view.png.
Every process it starts is stopped by PID; every wait is bounded. Skipped (77) with
a clear line where chromium is not installed.

usage: test_live_view.py GOSSIPD GOSSIP-CLI
"""

import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TESTNET = os.path.join(REPO, "tools", "testnet")
NODES = 5
WAIT_S = 60
SKIP = 77


def skip(why):
    print("SKIP: live view test: %s" % why, flush=True)
    sys.exit(SKIP)


class Cdp:
    """Just enough of a WebSocket client (RFC 6455, text frames, client masking) to
    speak the Chrome DevTools protocol."""

    def __init__(self, ws_url, timeout=30):
        m = re.match(r"ws://([^:/]+):(\d+)(/.*)", ws_url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError("DevTools closed the WebSocket handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise AssertionError("DevTools refused the WebSocket: %r" % head[:200])
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.ids = 0

    def _recv(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("DevTools closed the WebSocket")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        b0, b1 = self._recv(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", self._recv(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._recv(8))[0]
        return b0 & 0x0f, self._recv(n)

    def send(self, method, **params):
        self.ids += 1
        data = json.dumps({"id": self.ids, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        want = self.ids
        msg = b""
        while True:
            op, payload = self._frame()
            msg += payload
            if op == 0 or op == 1:
                try:
                    reply = json.loads(msg)
                except ValueError:
                    continue              # a fragmented message: read the rest
                msg = b""
                if reply.get("id") == want:
                    if "error" in reply:
                        raise AssertionError("DevTools %s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
            elif op == 8:
                raise AssertionError("DevTools closed the WebSocket")
            else:
                msg = b""

    def eval(self, expr):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True)
        return r.get("result", {}).get("value")

    def close(self):
        self.sock.close()


def wait_until(what, fn, timeout=WAIT_S, period=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, AssertionError, ValueError) as e:
            last = e
        time.sleep(period)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def stop_pid(p, timeout=15):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


PAGE_STATE = """(() => {
  const svg = document.getElementById('topology');
  const rows = [...document.querySelectorAll('#items tbody tr')].map(r => ({
      hash: r.dataset.hash, kind: r.dataset.kind, reached: +r.dataset.reached,
      nodes: +r.dataset.nodes}));
  return {nodes: +svg.getAttribute('data-nodes'), links: +svg.getAttribute('data-links'),
          live: document.body.dataset.live === '1',
          lit: document.querySelectorAll('#topology g.node.lit').length,
          first: document.querySelectorAll('#topology line.edge.first').length,
          curves: document.querySelectorAll('#coverage path.curve').length,
          focus: document.getElementById('focus').dataset.hash || null,
          errors: document.body.dataset.errors || null, rows};
})()"""


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        skip("chromium is not installed (tools/deps installs it)")
    gossipd = os.path.abspath(sys.argv[1])
    build_dir = os.path.dirname(os.path.dirname(gossipd))
    artefact_dir = os.path.join(build_dir, "tests", "live")
    os.makedirs(artefact_dir, exist_ok=True)
    shot = os.path.join(artefact_dir, "live-view.png")
    tmp = tempfile.mkdtemp(prefix="gossipd-live-")
    d = os.path.join(tmp, "net")
    view = browser = None
    cdp = None
    up = False
    try:
        r = subprocess.run([sys.executable, TESTNET, "up", "--detach", "--no-build",
                            "--build-dir", build_dir, "--dir", d, "--network", "regtest",
                            "--nodes", str(NODES), "--block-interval", "0", "--seed", "4"],
                           capture_output=True, text=True, timeout=180)
        up = True
        if r.returncode != 0:
            raise AssertionError("tools/testnet up failed: %s" % r.stderr[-2000:])
        st = json.load(open(os.path.join(d, "testnet.json")))
        edges = len(st["edges"])
        view = subprocess.Popen([sys.executable, TESTNET, "view", "--dir", d],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        line = view.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not m:
            raise AssertionError("no URL from tools/testnet view: %r" % line)
        url = m.group(0)
        print("live view at %s" % url, flush=True)
        profile = os.path.join(tmp, "chromium")
        browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                    "--disable-dev-shm-usage", "--no-first-run",
                                    "--user-data-dir=" + profile,
                                    "--remote-debugging-port=0", "--window-size=1280,900",
                                    "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        ws = None
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and ws is None:
            line = browser.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                ws = m.group(1)
        if ws is None:
            raise AssertionError("chromium printed no DevTools address")
        port = re.match(r"ws://[^:]+:(\d+)/", ws).group(1)
        targets = wait_until("a page target", lambda: [
            t for t in json.load(urllib.request.urlopen(
                "http://127.0.0.1:%s/json" % port, timeout=5)) if t.get("type") == "page"])
        cdp = Cdp(targets[0]["webSocketDebuggerUrl"])
        cdp.send("Page.enable")
        cdp.send("Page.navigate", url=url)
        s = wait_until("the page live with %d nodes" % NODES,
                       lambda: (lambda v: v if v and v["live"] and v["nodes"] == NODES
                                else None)(cdp.eval(PAGE_STATE)))
        if s["links"] != edges:
            raise AssertionError("page shows %d links, the topology has %d" % (s["links"],
                                                                                edges))
        # Mine while the page watches.
        sys.path.insert(0, os.path.join(REPO, "tests", "report"))
        from toolload import load_tool
        tn = load_tool("testnet")
        # Three blocks from different nodes, and a tx between the second and the third,
        # so the page (and the screenshot) shows several curves and rows.
        key = os.path.join(tmp, "dev.key")
        cli = os.path.abspath(sys.argv[2])
        subprocess.run([cli, "devkey", key], capture_output=True, timeout=30, check=True)
        for k, origin in enumerate((0, 2, 4)):
            node = st["nodes"][origin]
            if k == 2:
                to = tn.try_call(st["nodes"][1], "getnewaddress")
                tn.cli_send(cli, st["nodes"][3], "regtest", key, to, 100000000)
                time.sleep(1.0)
            (block,) = tn.try_call(node, "generate", 1, timeout=30)
            wait_until("block %d at every node" % (k + 1), lambda: all(
                tn.try_call(n, "getbestblockhash") == block for n in st["nodes"]))

        def reached_all():
            v = cdp.eval(PAGE_STATE)
            row = [r for r in v["rows"] if r["hash"] == block]
            return v if row and row[0]["reached"] == NODES and v["lit"] == NODES else None

        s = wait_until("the page to show block %s at %d/%d" % (block[:16], NODES, NODES),
                       reached_all)
        failures = []
        if s["focus"] != block:
            failures.append("the followed item is %s, not the new block" % s["focus"])
        if s["first"] != NODES - 1:
            failures.append("%d first-seen edges highlighted, want %d" % (s["first"],
                                                                          NODES - 1))
        if s["curves"] < 1:
            failures.append("no coverage curve")
        if s["errors"]:
            failures.append("the page failed on events: %s" % s["errors"])
        time.sleep(0.5)               # let the last transition finish for the picture
        png = base64.b64decode(cdp.send("Page.captureScreenshot", format="png")["data"])
        with open(shot, "wb") as f:
            f.write(png)
        print("screenshot: %s (%d bytes)" % (shot, len(png)), flush=True)
        for f in failures:
            print("FAIL: " + f, flush=True)
        if failures:
            return 1
        print("ok: the page shows %d nodes, %d links, and block %s reaching %d/%d nodes "
              "(%d first-seen edges, %d curves)" % (s["nodes"], s["links"], block[:16],
                                                   NODES, NODES, s["first"], s["curves"]),
              flush=True)
        return 0
    finally:
        if cdp is not None:
            cdp.close()
        stop_pid(browser)
        stop_pid(view)
        if up:
            subprocess.run([sys.executable, TESTNET, "down", "--dir", d],
                           capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    random.seed()
    sys.exit(main())
