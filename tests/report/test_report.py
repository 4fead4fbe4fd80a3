#!/usr/bin/env python3
"""Unit tests for tools/propagation-report, on synthetic gossipd JSON logs."""

import datetime
import heapq
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from toolload import TOOLS, load_tool

TOOL = os.path.join(TOOLS, "propagation-report")

pr = load_tool("propagation-report")
T0 = datetime.datetime(2026, 11, 23, 18, 0, 0, tzinfo=datetime.timezone.utc)


def ts(ms):
    t = T0 + datetime.timedelta(microseconds=int(round(ms * 1000)))
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ev(ms, node, event, **fields):
    d = {"ts": ts(ms), "node": node, "level": "info", "event": event}
    d.update(fields)
    return d


def lines(events):
    return [json.dumps(e) for e in events]


class Logs:
    """Synthetic logs of a small hand-made testnet:

    line topology n1 - n2 - n3 - n4.
    Block A (height 1) mined by n1 at 0 ms, reaches n2 at 4, n3 at 10, n4 at 20.
    n2 also hears an inv for A from n3 (duplicate announcement).
    n4 gets A's body twice (duplicate body).
    Tx X sent to n3 over RPC at 100 ms, reaches n2 at 150, n4 at 160, n1 at 210.
    n3 gets a duplicate body of X (tx_duplicate) and two known invs.
    """

    A = "00" + "a" * 62
    X = "b" * 64

    def events(self):
        A, X = self.A, self.X
        return [
            ev(0, "n1", "node_start", network="regtest", p2p_port=1, rpc_port=2,
               height=0, tip="00" * 32),
            ev(0, "n1", "block_mined", hash=A, height=1, txs=1, size=200),
            ev(0.5, "n1", "announced", type="block", hash=A, peers=1),
            ev(3, "n2", "inv_received", type="block", hash=A, peer=1, peer_name="n1",
               known=False),
            ev(4, "n2", "block_received", hash=A, height=1, peer=1, peer_name="n1",
               size=200, txs=1, delay_ms=4, first_seen=True),
            ev(10, "n3", "block_received", hash=A, height=1, peer=1, peer_name="n2",
               size=200, txs=1, delay_ms=10, first_seen=True),
            ev(11, "n2", "inv_received", type="block", hash=A, peer=2, peer_name="n3",
               known=True),
            ev(20, "n4", "block_received", hash=A, height=1, peer=1, peer_name="n3",
               size=200, txs=1, delay_ms=20, first_seen=True),
            ev(25, "n4", "block_received", hash=A, height=1, peer=1, peer_name="n3",
               size=200, txs=1, delay_ms=25, first_seen=False),
            ev(100, "n3", "tx_accepted", txid=X, source="rpc", size=150, first_seen=True),
            ev(150, "n2", "tx_accepted", txid=X, source="peer", peer=2, peer_name="n3",
               size=150, first_seen=True),
            ev(160, "n4", "tx_accepted", txid=X, source="peer", peer=1, peer_name="n3",
               size=150, first_seen=True),
            ev(210, "n1", "tx_accepted", txid=X, source="peer", peer=1, peer_name="n2",
               size=150, first_seen=True),
            ev(215, "n3", "inv_received", type="tx", hash=X, peer=2, peer_name="n2",
               known=True),
            ev(216, "n3", "inv_received", type="tx", hash=X, peer=3, peer_name="n4",
               known=True),
            ev(220, "n3", "tx_duplicate", txid=X, peer=3, peer_name="n4"),
        ]


def simulate(n=8, degree=3, blocks=5, txs=40, seed=7):
    """A gossip run on a random connected graph: each item spreads from its origin
    along edges with random link delays; every node logs first sight and, for a few
    later arrivals, a known inv. Returns (events, adjacency)."""
    rnd = random.Random(seed)
    names = ["n%d" % (i + 1) for i in range(n)]
    adj = {a: set() for a in names}
    for i in range(1, n):                    # spanning tree keeps it connected
        a, b = names[i], names[rnd.randrange(i)]
        adj[a].add(b)
        adj[b].add(a)
    while sum(len(v) for v in adj.values()) < n * degree:
        a, b = rnd.sample(names, 2)
        adj[a].add(b)
        adj[b].add(a)
    out = []

    def spread(kind, h, origin, t0, height=None):
        dist = {origin: (t0, None)}
        pq = [(t0, origin)]
        while pq:
            t, u = heapq.heappop(pq)
            if dist[u][0] < t:
                continue
            for v in adj[u]:
                tv = t + rnd.uniform(1, 8) + (rnd.uniform(20, 80) if kind == "tx" else 0)
                if v not in dist or tv < dist[v][0]:
                    dist[v] = (tv, u)
                    heapq.heappush(pq, (tv, v))
                elif v != dist[u][1]:
                    out.append(ev(tv, v, "inv_received", type=kind, hash=h, peer=1,
                                  peer_name=u, known=True))
        for node, (t, src) in dist.items():
            if kind == "block":
                if src is None:
                    out.append(ev(t, node, "block_mined", hash=h, height=height, txs=1,
                                  size=300))
                else:
                    out.append(ev(t, node, "block_received", hash=h, height=height,
                                  peer=1, peer_name=src, size=300, txs=1,
                                  delay_ms=t - t0, first_seen=True))
            else:
                out.append(ev(t, node, "tx_accepted", txid=h,
                              source="rpc" if src is None else "peer", peer=1,
                              peer_name=src or "", size=180, first_seen=True))
        return dist

    for b in range(blocks):
        spread("block", "%064x" % (0xb10c000 + b), rnd.choice(names), 5000.0 * b, b + 1)
    for i in range(txs):
        spread("tx", "%064x" % (0x7000 + i), rnd.choice(names), 100.0 * i)
    return out, adj


class ParseTests(unittest.TestCase):
    def test_timestamp_has_microseconds(self):
        a = pr.parse_ts("2026-11-23T18:12:22.000001Z")
        b = pr.parse_ts("2026-11-23T18:12:22.000002Z")
        self.assertEqual(b - a, 1)
        self.assertIsNone(pr.parse_ts("yesterday"))

    def test_compose_prefix_and_colours_are_stripped(self):
        e = {"ts": ts(1), "node": "node3", "event": "block_mined", "hash": "ab"}
        line = "\x1b[36mnode3_1  |\x1b[0m " + json.dumps(e)
        got = pr.parse_line(line)
        self.assertEqual(got["node"], "node3")
        self.assertEqual(got["event"], "block_mined")

    def test_non_events_are_ignored(self):
        for line in ("", "plain text", "2026-11-23T18:12:22Z n1 block_received hash=..",
                     "node1_1 | {not json", '{"no": "event"}', "Attaching to a, b"):
            self.assertIsNone(pr.parse_line(line), line)


class FigureTests(unittest.TestCase):
    def setUp(self):
        self.rep = pr.analyse(self._events())

    def _events(self):
        evs = []
        for line in lines(Logs().events()):
            evs.append(pr.parse_line(line))
        evs.sort(key=lambda e: e["t"])
        return evs

    def test_block_figures(self):
        (b,) = self.rep["blocks"]
        self.assertEqual(b["hash"], Logs.A)
        self.assertEqual(b["height"], 1)
        self.assertEqual(b["origin"], "n1")
        self.assertEqual(b["reached"], 4)
        self.assertEqual(b["coverage"], 100.0)
        # 4 nodes: 50 % = 2 nodes (n2 at 4 ms), 90 % and 100 % = 4 nodes (n4 at 20 ms)
        self.assertEqual(b["t50_ms"], 4.0)
        self.assertEqual(b["t90_ms"], 20.0)
        self.assertEqual(b["t100_ms"], 20.0)
        self.assertEqual(b["hops"], {"n1": 0, "n2": 1, "n3": 2, "n4": 3})
        self.assertEqual(b["hops_max"], 3)
        self.assertAlmostEqual(b["hops_mean"], 2.0)
        self.assertEqual(b["dup_inv"], 1)
        self.assertEqual(b["dup_bodies"], 1)
        self.assertEqual(b["bodies"], 4)
        self.assertEqual(b["bytes"], 800)

    def test_tx_aggregate(self):
        tx = self.rep["txs"]
        self.assertEqual(tx["count"], 1)
        self.assertEqual(tx["fully_covered"], 1)
        self.assertEqual(tx["t50_ms"]["max"], 50.0)     # n2 at +50
        self.assertEqual(tx["t100_ms"]["max"], 110.0)   # n1 at +110
        self.assertEqual(tx["hops_max"], 2)             # n1 <- n2 <- n3
        self.assertEqual(tx["dup_inv"], 2)
        self.assertEqual(tx["dup_bodies"], 1)
        (t,) = self.rep["tx_list"]
        self.assertEqual(t["origin"], "n3")
        self.assertEqual(t["hops"], {"n3": 0, "n2": 1, "n4": 1, "n1": 2})

    def test_per_node(self):
        pn = self.rep["per_node"]
        self.assertEqual(list(pn), ["n1", "n2", "n3", "n4"])
        self.assertEqual(pn["n2"]["block_dup_inv"], 1)
        self.assertEqual(pn["n4"]["block_dup_bodies"], 1)
        self.assertEqual(pn["n3"]["tx_dup_inv"], 2)
        self.assertEqual(pn["n3"]["tx_dup_bodies"], 1)
        self.assertEqual(pn["n1"]["blocks_origin"], 1)
        self.assertEqual(pn["n3"]["txs_origin"], 1)
        for name in pn:
            self.assertEqual(pn[name]["blocks_seen"], 1)
            self.assertEqual(pn[name]["txs_seen"], 1)

    def test_partial_coverage_has_no_t100(self):
        evs = [e for e in self._events()
               if not (e["node"] == "n4" and e["event"] == "block_received")]
        rep = pr.analyse(evs)
        (b,) = rep["blocks"]
        self.assertEqual(b["reached"], 3)
        self.assertEqual(b["coverage"], 75.0)
        self.assertIsNone(b["t100_ms"])
        self.assertEqual(b["t90_ms"], None)      # 90 % of 4 = 4 nodes
        self.assertEqual(rep["totals"]["blocks_fully_covered"], 0)

    def test_node_count_override(self):
        rep = pr.analyse(self._events(), n_nodes=5)
        self.assertEqual(rep["blocks"][0]["reached"], 4)
        self.assertIsNone(rep["blocks"][0]["t100_ms"])

    def test_missing_origin_log_uses_earliest_node(self):
        evs = [e for e in self._events() if e["node"] != "n1"]
        rep = pr.analyse(evs)
        (b,) = rep["blocks"]
        self.assertEqual(b["origin"], "n2")
        self.assertEqual(b["hops"]["n2"], 0)
        self.assertEqual(b["hops"]["n4"], 2)

    def test_waiting_tx_logged_as_reorg_counts_with_inferred_source(self):
        # n1 got X while it waited for an earlier nonce: gossipd logs it when it enters
        # the mempool, as source=reorg with no peer. The first announcer (n2) is taken
        # as its source.
        evs = [e for e in self._events()
               if not (e["node"] == "n1" and e["event"] == "tx_accepted")]
        evs.append(pr.parse_line(json.dumps(ev(190, "n1", "inv_received", type="tx",
                                                hash=Logs.X, peer=1, peer_name="n2",
                                                known=False))))
        evs.append(pr.parse_line(json.dumps(ev(230, "n1", "tx_accepted", txid=Logs.X,
                                                source="reorg", peer=0, peer_name="",
                                                size=150, first_seen=False))))
        evs.sort(key=lambda e: e["t"])
        rep = pr.analyse(evs)
        (t,) = rep["tx_list"]
        self.assertEqual(t["reached"], 4)
        self.assertEqual(t["t100_ms"], 130.0)
        self.assertEqual(t["hops"]["n1"], 2)
        self.assertEqual(t["sources_inferred"], 1)
        self.assertEqual(t["dup_bodies"], 1)         # unchanged: n3's tx_duplicate

    def test_reorg_after_first_sight_changes_nothing(self):
        evs = self._events()
        evs.append(pr.parse_line(json.dumps(ev(500, "n2", "tx_accepted", txid=Logs.X,
                                                source="reorg", peer=0, peer_name="",
                                                size=150, first_seen=False))))
        (t,) = pr.analyse(evs)["tx_list"]
        self.assertEqual(t["t100_ms"], 110.0)
        self.assertEqual(t["sources_inferred"], 0)
        self.assertEqual(t["dup_bodies"], 1)

    def test_unknown_source_gives_unknown_hops(self):
        evs = self._events()
        for e in evs:
            if e["node"] == "n3" and e["event"] == "block_received":
                e["peer_name"] = ""
        (b,) = pr.analyse(evs)["blocks"]
        self.assertIsNone(b["hops"]["n3"])
        self.assertIsNone(b["hops"]["n4"])      # its source, n3, is unknown
        self.assertEqual(b["hops_unknown"], 2)


class SimulatedNetworkTests(unittest.TestCase):
    def test_figures_match_the_simulation(self):
        events, adj = simulate(n=8, blocks=6, txs=50, seed=3)
        evs = sorted((pr.parse_line(l) for l in lines(events)), key=lambda e: e["t"])
        rep = pr.analyse(evs)
        self.assertEqual(rep["node_count"], 8)
        self.assertEqual(len(rep["blocks"]), 6)
        self.assertEqual(rep["txs"]["count"], 50)
        self.assertEqual(rep["txs"]["fully_covered"], 50)
        for b in rep["blocks"]:
            self.assertEqual(b["coverage"], 100.0)
            self.assertEqual(b["dup_bodies"], 0)
            self.assertLessEqual(b["t50_ms"], b["t90_ms"])
            self.assertLessEqual(b["t90_ms"], b["t100_ms"])
            # each hop crosses one edge of the graph
            for node, h in b["hops"].items():
                self.assertIsNotNone(h)
                self.assertLess(h, 8)
        self.assertEqual(rep["totals"]["block_dup_inv"] + rep["txs"]["dup_inv"],
                         sum(1 for e in events if e["event"] == "inv_received"))


class StatusTests(unittest.TestCase):
    """Items set apart from the figures: catch-up, stale, in flight; runs; units."""

    A = "00" + "a" * 62
    B = "00" + "b" * 62
    C = "00" + "c" * 62
    X = "e" * 64

    def start(self, ms, node):
        return ev(ms, node, "node_start", network="testnet", p2p_port=1, rpc_port=2,
                  height=0, tip="00" * 32)

    def block(self, ms, node, h, height, src=None):
        if src is None:
            return [ev(ms, node, "block_mined", hash=h, height=height, txs=1, size=200),
                    ev(ms, node, "block_connected", hash=h, height=height, txs=1)]
        return [ev(ms, node, "block_received", hash=h, height=height, peer=1,
                   peer_name=src, size=200, txs=1, delay_ms=1, first_seen=True),
                ev(ms, node, "block_connected", hash=h, height=height, txs=1)]

    def test_catch_up_block_is_labelled_and_left_out(self):
        # n3 gets its first peer 600 ms after block A was mined: A reaches it by
        # start-up sync, which is no gossip delay. Block B is mined once all are up.
        evs = [self.start(0, n) for n in ("n1", "n2")] + [
            ev(1, "n1", "peer_connected", peer=1, peer_name="n2"),
            ev(1, "n2", "peer_connected", peer=1, peer_name="n1")]
        evs += self.block(10, "n1", self.A, 1) + self.block(14, "n2", self.A, 1, "n1")
        evs += [self.start(600, "n3"), ev(650, "n3", "peer_connected", peer=1,
                                          peer_name="n2")]
        evs += self.block(655, "n3", self.A, 1, "n2")
        evs += self.block(1000, "n1", self.B, 2) + self.block(1003, "n2", self.B, 2, "n1") \
            + self.block(1006, "n3", self.B, 2, "n2")
        rep = pr.analyse(sorted((pr.parse_line(json.dumps(e)) for e in evs),
                                key=lambda e: e["t"]))
        a, b = rep["blocks"]
        self.assertEqual(a["status"], "catch-up")
        self.assertEqual(a["catchup_nodes"], 1)
        self.assertEqual(b["status"], "ok")
        # the 645 ms delivery is not in the per-node delays; B's 3 and 6 ms are
        self.assertEqual(rep["totals"]["block_delay_ms"]["max"], 6.0)
        self.assertEqual(rep["totals"]["blocks_catch_up"], 1)
        text = pr.render_text(rep)
        self.assertIn("catch-up (1 nodes joined after it)", text)
        self.assertIn("1 catch-up", text)

    def test_stale_fork_block_is_not_called_lost(self):
        # n1 and n3 both mine height 1; n3's block C loses (n3 reorgs to A).
        evs = [self.start(0, n) for n in ("n1", "n2", "n3")]
        evs += self.block(10, "n1", self.A, 1) + self.block(12, "n3", self.C, 1)
        evs += self.block(14, "n2", self.A, 1, "n1")
        evs += [ev(15, "n2", "block_received", hash=self.C, height=1, peer=2,
                   peer_name="n3", size=200, txs=1, delay_ms=3, first_seen=True)]
        evs += self.block(100, "n1", self.B, 2) + self.block(104, "n2", self.B, 2, "n1")
        evs += [ev(106, "n3", "block_received", hash=self.A, height=1, peer=1,
                   peer_name="n2", size=200, txs=1, delay_ms=96, first_seen=True),
                ev(107, "n3", "block_disconnected", hash=self.C, height=1),
                ev(107, "n3", "block_connected", hash=self.A, height=1, txs=1),
                ev(107, "n3", "reorg", old_tip=self.C, new_tip=self.B, depth=1)]
        evs += self.block(108, "n3", self.B, 2, "n2")
        evs += [ev(9000, n, "node_stop", height=2, tip=self.B) for n in ("n1", "n2", "n3")]
        rep = pr.analyse([pr.parse_line(json.dumps(e)) for e in evs])
        st = {b["hash"]: b["status"] for b in rep["blocks"]}
        self.assertEqual(st, {self.A: "ok", self.C: "stale", self.B: "ok"})
        self.assertEqual(rep["totals"]["blocks_stale"], 1)
        self.assertEqual(rep["totals"]["blocks_missing"], 0)
        text = pr.render_text(rep)
        self.assertIn("stale (fork)", text)
        self.assertNotIn("did not reach every node", text)

    def test_tx_in_flight_at_shutdown_is_not_never(self):
        evs = [self.start(0, n) for n in ("n1", "n2", "n3")]
        evs += [ev(1000, "n1", "tx_accepted", txid=self.X, source="rpc", size=150,
                   first_seen=True),
                ev(1040, "n2", "tx_accepted", txid=self.X, source="peer", peer=1,
                   peer_name="n1", size=150, first_seen=True)]
        # `down` 50 ms later: n3 never had a chance
        for n in ("n1", "n2", "n3"):
            evs += [ev(1050, n, "signal", signal="SIGTERM"),
                    ev(1060, n, "node_stop", height=0, tip="00" * 32)]
        rep = pr.analyse([pr.parse_line(json.dumps(e)) for e in evs])
        self.assertEqual(rep["tx_list"][0]["status"], "in-flight")
        self.assertEqual(rep["txs"]["in_flight"], 1)
        self.assertEqual(rep["txs"]["t100_ms"]["missing"], 0)
        self.assertIn("1 in flight at shutdown", pr.render_text(rep))
        # the same tx with the nodes running on for a minute: lost, "never"
        late = [e for e in evs if e["event"] not in ("signal", "node_stop")] + \
            [ev(60000, n, "node_stop", height=0, tip="00" * 32) for n in ("n1", "n2", "n3")]
        rep = pr.analyse([pr.parse_line(json.dumps(e)) for e in late])
        self.assertEqual(rep["tx_list"][0]["status"], "missing")
        self.assertEqual(rep["txs"]["t100_ms"]["missing"], 1)

    def test_runs_of_a_data_dir_are_reported_apart(self):
        run1 = [self.start(0, n) for n in ("n1", "n2")]
        run1 += self.block(10, "n1", self.A, 1) + self.block(15, "n2", self.A, 1, "n1")
        run1 += [ev(100, n, "node_stop", height=1, tip=self.A) for n in ("n1", "n2")]
        run2 = [self.start(5000, n) for n in ("n1", "n2")]
        run2 += self.block(5010, "n2", self.B, 2) + self.block(5012, "n1", self.B, 2, "n2")
        evs = [pr.parse_line(json.dumps(e)) for e in run1 + run2]
        self.assertEqual(len(pr.split_runs(evs)), 2)
        rep = pr.analyse(evs)
        self.assertEqual([b["hash"] for b in rep["blocks"]], [self.B])
        self.assertEqual(rep["run"]["index"], 2)
        self.assertIn("Run 2 of 2", pr.render_text(rep))
        rep1 = pr.analyse(evs, run=1)
        self.assertEqual([b["hash"] for b in rep1["blocks"]], [self.A])
        with self.assertRaises(ValueError):
            pr.analyse(evs, run=3)
        # one node restarting while the other runs: still one run
        restart = run1[:-2] + [ev(100, "n2", "node_stop", height=1, tip=self.A),
                               self.start(200, "n2")]
        self.assertEqual(len(pr.split_runs([pr.parse_line(json.dumps(e))
                                            for e in restart])), 1)

    def test_durations_carry_one_unit(self):
        self.assertEqual(pr.fmt_ms(1191.0), "1.19 s")
        self.assertEqual(pr.fmt_ms(789.0), "789 ms")
        self.assertEqual(pr.fmt_ms(4.25), "4.2 ms")
        events, _ = simulate(n=5, blocks=3, txs=3, seed=5)
        for e in events:                         # slow it down past a second
            e["ts"] = ts((pr.parse_ts(e["ts"]) - pr.parse_ts(ts(0))) / 1000.0 * 200)
        rep = pr.analyse([pr.parse_line(json.dumps(e)) for e in events])
        svg = pr.render_svg(rep)
        text = pr.render_text(rep)
        for out in (svg, text):
            self.assertNotRegex(out, r"\d s ms")
            self.assertNotRegex(out, r"\ds ms")
        self.assertRegex(svg, r"\d\.\d\d s")


class CommandLineTests(unittest.TestCase):
    def run_tool(self, *args, stdin=None):
        return subprocess.run([sys.executable, TOOL] + list(args), input=stdin,
                              capture_output=True, text=True, timeout=60)

    def write_dir(self, d, events):
        by_node = {}
        for e in events:
            by_node.setdefault(e["node"], []).append(json.dumps(e))
        for node, ls in by_node.items():
            os.makedirs(os.path.join(d, node), exist_ok=True)
            with open(os.path.join(d, node, "gossipd.log"), "w") as f:
                f.write("\n".join(["some text line before json"] + ls) + "\n")

    def test_directory_json_text_and_svg(self):
        events, _ = simulate(n=6, blocks=4, txs=30, seed=11)
        with tempfile.TemporaryDirectory() as d:
            self.write_dir(d, events)
            r = self.run_tool(d, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            rep = json.loads(r.stdout)
            self.assertEqual(rep["node_count"], 6)
            self.assertEqual(rep["totals"]["blocks_fully_covered"], 4)
            svg = os.path.join(d, "out.svg")
            r = self.run_tool(d, "--svg", svg)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Blocks", r.stdout)
            self.assertIn("Transactions", r.stdout)
            self.assertIn("Per node", r.stdout)
            root = ET.parse(svg).getroot()          # well-formed XML
            self.assertTrue(root.tag.endswith("svg"))
            paths = [p for p in root.iter() if p.tag.endswith("path")]
            self.assertEqual(len(paths), 4 + 2)     # 4 block curves + 2 CDFs

    def test_many_blocks_draw_median_and_slowest(self):
        events, _ = simulate(n=5, blocks=20, txs=5, seed=13)
        with tempfile.TemporaryDirectory() as d:
            self.write_dir(d, events)
            svg = os.path.join(d, "out.svg")
            r = self.run_tool(d, "--svg", svg)
            self.assertEqual(r.returncode, 0, r.stderr)
            root = ET.parse(svg).getroot()
            paths = [p for p in root.iter() if p.tag.endswith("path")]
            self.assertEqual(len(paths), 20 + 2 + 2)  # grey per block, median, slowest, CDFs
            text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
            self.assertIn("median over blocks", text)
            self.assertIn("slowest: h=", text)

    def test_compose_logs_on_stdin(self):
        events = Logs().events()
        text = "Attaching to t_node1_1, t_node2_1\n" + "\n".join(
            "%s_1  | %s" % (e["node"], json.dumps(e)) for e in events) + "\n"
        r = self.run_tool("--json", stdin=text)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["blocks"][0]["t100_ms"], 20.0)
        self.assertEqual(rep["txs"]["dup_bodies"], 1)

    def test_no_events_is_an_error(self):
        r = self.run_tool(stdin="nothing here\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no JSON log events", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
