#!/usr/bin/env python3
"""Unit tests for the pure parts of tools/testnet: topologies, free ports, the log
view. (The launcher with real nodes is tests/integration/test_testnet.py.)"""

import io
import json
import os
import random
import unittest

from toolload import load_tool


tn = load_tool("testnet")


def connected(n, edges):
    adj = {i: set() for i in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    seen, todo = {0}, [0]
    while todo:
        for v in adj[todo.pop()]:
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return len(seen) == n


def degrees(n, edges):
    d = [0] * n
    for a, b in edges:
        d[a] += 1
        d[b] += 1
    return d


class TopologyTests(unittest.TestCase):
    def topo(self, kind, n, seed=1):
        return tn.topology(kind, n, random.Random(seed))

    def test_shapes(self):
        self.assertEqual(self.topo("line", 4), [(0, 1), (1, 2), (2, 3)])
        self.assertEqual(self.topo("ring", 4), [(0, 1), (0, 3), (1, 2), (2, 3)])
        self.assertEqual(self.topo("star", 4), [(0, 1), (0, 2), (0, 3)])
        self.assertEqual(len(self.topo("full", 6)), 15)
        self.assertEqual(self.topo("ring", 2), [(0, 1)])
        self.assertEqual(self.topo("random:4", 1), [])

    def test_edges_are_simple(self):
        for kind in ("line", "ring", "star", "full", "random:2", "random:4", "random:7"):
            for n in (2, 3, 8, 20):
                e = self.topo(kind, n)
                self.assertEqual(len(e), len(set(e)), kind)
                self.assertTrue(all(a < b for a, b in e), kind)
                self.assertTrue(all(0 <= a < n and 0 <= b < n for a, b in e), kind)

    def test_random_is_connected_bounded_and_seeded(self):
        for n in (2, 5, 8, 16, 40):
            for d in (1, 2, 3, 4, 6):
                for seed in range(5):
                    e = self.topo("random:%d" % d, n, seed)
                    self.assertTrue(connected(n, e), (n, d, seed))
                    if d >= 2:    # D=1 cannot connect more than 2 nodes: a tree it is
                        self.assertLessEqual(max(degrees(n, e)), d, (n, d, seed))
        a = self.topo("random:4", 12, seed=9)
        self.assertEqual(a, self.topo("random:4", 12, seed=9))
        self.assertNotEqual(a, self.topo("random:4", 12, seed=10))

    def test_random_reaches_the_degree(self):
        e = self.topo("random:4", 8)
        self.assertGreaterEqual(sum(degrees(8, e)) / 8.0, 3.5)

    def test_bad_names(self):
        for kind in ("mesh", "random:0", "random:x", "random4"):
            with self.assertRaises(ValueError):
                self.topo(kind, 5)


class StartPlanTests(unittest.TestCase):
    def test_miners_start_last_and_every_link_is_dialled_by_the_later_end(self):
        for seed in range(6):
            n = 8
            edges = tn.topology("random:4", n, random.Random(seed))
            miners = sorted(random.Random(seed).sample(range(n), 2))
            order, dials = tn.start_plan(n, edges, miners)
            self.assertEqual(sorted(order), list(range(n)))
            self.assertEqual(set(order[-2:]), set(miners))      # miners last
            rank = {v: k for k, v in enumerate(order)}
            dialled = set()
            for i, ds in enumerate(dials):
                for j in ds:
                    self.assertGreater(rank[i], rank[j])         # its peer is up
                    dialled.add((min(i, j), max(i, j)))
            self.assertEqual(dialled, set(edges))                # each link once

    def test_no_miner_keeps_index_order(self):
        edges = [(0, 1), (1, 2), (0, 2)]
        order, dials = tn.start_plan(3, edges, [])
        self.assertEqual(order, [0, 1, 2])
        self.assertEqual(dials, [[], [0], [0, 1]])


class PortTests(unittest.TestCase):
    def test_free_ports_are_distinct(self):
        ports = tn.free_ports(16)
        self.assertEqual(len(set(ports)), 16)
        self.assertTrue(all(1024 <= p <= 65535 for p in ports))


class ViewTests(unittest.TestCase):
    def events(self):
        def ev(ms, node, event, **kw):
            d = {"ts": "2026-11-23T18:00:00.%06dZ" % (ms * 1000), "node": node,
                 "event": event, "level": "info"}
            d.update(kw)
            return d
        h = "00" * 30 + "abcd"
        return [
            ev(1, "n1", "block_mined", hash=h, height=7, txs=1),
            ev(3, "n2", "block_received", hash=h, height=7, peer_name="n1", first_seen=True),
            ev(6, "n3", "block_received", hash=h, height=7, peer_name="n2", first_seen=True),
            ev(7, "n3", "block_received", hash=h, height=7, peer_name="n1", first_seen=False),
            ev(9, "n3", "tx_accepted", txid="ee" * 32, source="rpc", first_seen=True),
            ev(20, "n1", "tx_accepted", txid="ee" * 32, source="reorg", first_seen=False),
            ev(30, "n2", "tx_accepted", txid="ee" * 32, source="peer", peer_name="",
               first_seen=True),
        ]

    def test_lines_hops_and_completion(self):
        out = io.StringIO()
        v = tn.View(3, colour=False, out=out)
        for e in self.events():
            v.show(e)
        text = out.getvalue()
        self.assertIn("mined    block #7", text)
        self.assertIn("received block #7 0000..0000abcd from n2 +5.0 ms hop 2 [3/3]", text)
        self.assertIn("block    0000..0000abcd all 3 nodes in 5.0 ms (origin n1, max 2 hops)",
                      text)
        self.assertNotIn("\x1b[", text)
        # the waiting tx (source reorg) counts; unknown sources do not break the view
        self.assertIn("tx       eeee..eeeeeeee all 3 nodes in 21.0 ms", text)

    def test_colour(self):
        out = io.StringIO()
        v = tn.View(3, colour=True, out=out)
        v.show(self.events()[0])
        self.assertIn("\x1b[", out.getvalue())

    def test_follower_reads_appended_lines(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a.log")
            with open(p, "w") as f:
                f.write(json.dumps(self.events()[0]) + "\n" + '{"partial')
            fo = tn.Follower([p])
            self.assertEqual(len(fo.poll()), 1)
            with open(p, "a") as f:
                f.write('": 1, "event": "x", "ts": "t"}\n')
            self.assertEqual([e["event"] for e in fo.poll()], ["x"])
            self.assertEqual(fo.poll(), [])


class LiveViewServerTests(unittest.TestCase):
    """The live view's server: static page, /info, and /events as Server-Sent Events
    (the past, `event: live`, then new events), with what the page does not draw
    left out."""

    def test_info_page_and_event_stream(self):
        import urllib.request
        hub = tn.EventHub()
        ev = ViewTests().events()
        hub.add(ev + [{"ts": ev[0]["ts"], "node": "n1", "event": "msg_sent", "cmd": "inv"}])
        hub.mark_caught_up()
        info = {"title": "t", "nodes": ["n1", "n2", "n3"], "edges": [["n1", "n2"]]}
        srv, url = tn.start_live_view(hub, info)
        try:
            self.assertTrue(url.startswith("http://127.0.0.1:"))
            page = urllib.request.urlopen(url, timeout=10).read().decode()
            self.assertIn('<svg id="topology"', page)
            self.assertIn("live.js", page)
            js = urllib.request.urlopen(url + "live.js", timeout=10).read().decode()
            self.assertIn("EventSource", js)
            got = json.loads(urllib.request.urlopen(url + "info", timeout=10).read())
            self.assertEqual(got, info)
            r = urllib.request.urlopen(url + "events", timeout=10)
            self.assertEqual(r.headers["Content-Type"], "text/event-stream")
            data, seen_live = [], False
            while not seen_live:
                line = r.readline().decode()
                if line.startswith("data: ") and not seen_live:
                    data.append(json.loads(line[6:]))
                seen_live = line.startswith("event: live")
            self.assertEqual([d["event"] for d in data[:len(ev)]],
                             [e["event"] for e in ev])
            self.assertNotIn("msg_sent", [d["event"] for d in data])
            # a new event reaches the open stream
            hub.add([{"ts": ev[0]["ts"], "node": "n2", "event": "node_stop", "height": 1}])
            while True:
                line = r.readline().decode()
                if line.startswith("data: ") and "node_stop" in line:
                    break
            r.close()
            with self.assertRaises(Exception):
                urllib.request.urlopen(url + "../etc/passwd", timeout=10)
        finally:
            tn.stop_live_view(srv)


if __name__ == "__main__":
    unittest.main(verbosity=2)
