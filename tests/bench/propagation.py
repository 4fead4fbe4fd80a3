#!/usr/bin/env python3
"""Block and tx propagation over real gossipd processes on 127.0.0.1 (a benchmark
that prints figures; no assertions, not a test).

Starts N regtest nodes on a seeded ring + one random chord per node (degree ~4),
each dialling only its topology links (--connect), and funds node 0's key from
the development key. Then, per relay mode (--relay=pull, --relay=push):

  tx -> all: sends --tx-warmup txs (not measured: push learns its links on
  them), then --tx-rounds txs at node 0, one every --tx-gap-ms, and takes
  (last tx_accepted at the other nodes) - (tx_accepted at node 0, source rpc)
  from the JSON logs; once with the default tx batch and once with
  --tx-batch-ms=10 (a fresh network, as the batch is a start-up option).

  block -> all: per round sends K txs at node 0, waits until every mempool
  holds them, mines one block at a seeded random node (`generate 1`) and waits
  until every node has connected it; (last block_connected at the other nodes)
  - (block_mined at the origin), for 1-tx blocks (K = 0: the coinbase only) at
  N = --nodes and K-tx blocks at N = --big-nodes, with compact blocks on
  (-cmpct=1, the default) and/or off (-cmpct=0), plus the block bytes every
  node received per block.

Prints median and p90 over the rounds. A short run:
  tests/bench/propagation.py --nodes 8 --big-nodes 5 --rounds 5 --big-rounds 2 \
                             --tx-rounds 20 --txs 500

  tests/bench/propagation.py [--nodes 20] [--big-nodes 10] [--txs 2000]
                             [--rounds 15] [--big-rounds 5] [--tx-rounds 40]
                             [--tx-warmup 5]
                             [--tx-gap-ms 150] [--seed 1] [--relay both|pull|push]
                             [--cmpct both|on|off] [--what all|tx|block]
                             [--build-dir build] [--node-arg=--dbfsync=0 ...]

Standard library only; reuses tools/testnet's launcher and RPC client.
"""

import argparse
import calendar
import importlib.machinery
import importlib.util
import json
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_testnet():
    path = os.path.join(REPO, "tools", "testnet")
    loader = importlib.machinery.SourceFileLoader("testnet", path)
    spec = importlib.util.spec_from_loader("testnet", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


tn = load_testnet()
BLOCK_CMDS = ("block", "cmpctblock", "blocktxn", "getblocktxn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ring_chord(n, rng):
    """Ring plus one chord per node to a random node it is not linked to yet."""
    edges = {(min(i, (i + 1) % n), max(i, (i + 1) % n)) for i in range(n)} if n > 2 else set()
    for i in range(n):
        cands = [j for j in range(n) if j != i and (min(i, j), max(i, j)) not in edges]
        if cands:
            j = rng.choice(cands)
            edges.add((min(i, j), max(i, j)))
    return sorted(edges)


def parse_ts_ms(ts):
    """'2026-12-02T06:12:22.123456Z' -> ms since the epoch."""
    t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    frac = float("0" + ts[19:].rstrip("Z")) if len(ts) > 20 else 0.0
    return (t + frac) * 1000.0


def log_events(node, names):
    """The node's JSON log lines whose event is one of names, in order."""
    try:
        f = open(node["log"], errors="replace")
    except OSError:
        return
    with f:
        for line in f:
            line = line.strip()
            if not line.startswith("{") or not any(n in line for n in names):
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") in names:
                yield e


def block_events(node):
    """hash -> (mined_ms or None, connected_ms or None) from a node's log."""
    out = {}
    for e in log_events(node, ("block_mined", "block_connected")):
        if "hash" not in e:
            continue
        t = parse_ts_ms(e.get("ts", ""))
        m, c = out.get(e["hash"], (None, None))
        if e["event"] == "block_mined" and m is None:
            m = t
        if e["event"] == "block_connected" and c is None:
            c = t
        out[e["hash"]] = (m, c)
    return out


def tx_events(node):
    """txid -> (rpc_ms or None, accepted_ms) from a node's log: the first
    tx_accepted, and when its source was a local submission, its time."""
    out = {}
    for e in log_events(node, ("tx_accepted",)):
        if "txid" in e and e["txid"] not in out:
            t = parse_ts_ms(e.get("ts", ""))
            out[e["txid"]] = (t if e.get("source") == "rpc" else None, t)
    return out


def block_bytes(rpc_nodes):
    """Block-relay bytes received, summed over every node and peer."""
    total = 0
    for r in rpc_nodes:
        for p in r.call("getpeerinfo"):
            per = p.get("bytesrecv_per_msg") or {}
            total += sum(v for k, v in per.items() if k in BLOCK_CMDS)
    return total


def wait_until(pred, timeout_s, what):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise SystemExit("timed out waiting for %s" % what)


class Net:
    def __init__(self, args, n, cmpct, workdir, extra=()):
        self.n = n
        rng = random.Random(args.seed)
        self.edges = ring_chord(n, rng)
        gossipd, self.cli = tn.binaries(os.path.join(REPO, args.build_dir))
        nodes = []
        for i in range(n):
            d = os.path.join(workdir, "n%d" % i)
            nodes.append({"name": "n%d" % i, "datadir": d, "log": os.path.join(d, "gossipd.log"),
                          "p2p_port": free_port(), "rpc_port": free_port()})
        order, dials = tn.start_plan(n, self.edges, [])
        for i in range(n):
            nodes[i]["connect"] = dials[i]
        self.st = {"network": "regtest", "nodes": nodes, "dir": workdir,
                   "node_args": ["-cmpct=%d" % (1 if cmpct else 0)] + list(extra)
                   + list(args.node_arg)}
        self.procs, self.rpc = [], []
        self.nodes = nodes
        try:
            for i in order:
                p = tn.start_node(self.st, nodes[i], gossipd)
                self.procs.append(p)
                if not tn.wait_rpc(nodes[i], p, 30):
                    raise SystemExit("%s did not answer RPC" % nodes[i]["name"])
            self.rpc = [tn.node_rpc(x) for x in nodes]
            deg = [0] * n
            for a, b in self.edges:
                deg[a] += 1
                deg[b] += 1
            # A node that lost its port to another process (free_port is
            # racy on a shared machine) exits: no point waiting for it.
            wait_until(lambda: any(p.poll() is not None for p in self.procs) or
                       all(self.rpc[i].call("getconnectioncount") >= deg[i] for i in range(n)),
                       60, "connections")
            if any(p.poll() is not None for p in self.procs):
                raise SystemExit("a node exited at start (port taken?)")
        except BaseException:
            self.stop()
            raise
        self.rng = random.Random(args.seed + 7)

    def heights(self):
        return [r.call("getblockcount") for r in self.rpc]

    def fund(self):
        self.addr = self.rpc[0].call("getnewaddress")
        self.to = self.rpc[1].call("getnewaddress")   # a tx to oneself is refused
        key = tn.dev_key_file(self.st, self.cli)
        tn.cli_send(self.cli, self.nodes[0], "regtest", key, self.addr, 100000 * tn.COIN)
        self.mine(0, need=1)   # the funding tx must be in the block

    def mine(self, k, need=None):
        """Sends k txs at node 0, waits for every mempool, mines at a random
        node, waits for every node. Returns the block hash."""
        for _ in range(k):
            self.rpc[0].call("sendtoaddress", self.to, 1000)
        need = k if need is None else need
        wait_until(lambda: all(r.call("getmempoolinfo")["size"] >= need for r in self.rpc), 120,
                   "mempools")
        h0 = max(self.heights())
        origin = self.rng.randrange(self.n)
        hashes = self.rpc[origin].call("generate", 1)
        wait_until(lambda: min(self.heights()) > h0, 60, "the block at every node")
        return hashes[0] if isinstance(hashes, list) else hashes, origin

    def send_txs(self, count, gap_ms):
        """Sends count txs at node 0, gap_ms apart; waits for every mempool.
        Returns the txids."""
        base = [r.call("getmempoolinfo")["size"] for r in self.rpc]
        txids = []
        for _ in range(count):
            txids.append(self.rpc[0].call("sendtoaddress", self.to, 1000))
            time.sleep(gap_ms / 1000.0)
        wait_until(lambda: all(r.call("getmempoolinfo")["size"] >= b + count
                               for r, b in zip(self.rpc, base)), 120, "the txs at every mempool")
        return txids

    def tx_to_all_ms(self, txids):
        ev = [tx_events(x) for x in self.nodes]
        out = []
        for t in txids:
            sub = ev[0].get(t, (None, None))[0]
            acc = [ev[i].get(t, (None, None))[1] for i in range(1, self.n)]
            if sub is not None and all(a is not None for a in acc):
                out.append(max(acc) - sub)
        return out

    def block_to_all_ms(self, h, origin):
        ev = [block_events(x) for x in self.nodes]
        mined = ev[origin].get(h, (None, None))[0]
        conn = [ev[i].get(h, (None, None))[1] for i in range(self.n) if i != origin]
        if mined is None or any(c is None for c in conn):
            return None
        return max(conn) - mined

    def stop(self):
        for r in self.rpc:
            try:
                r.close()
            except Exception:
                pass
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except Exception:
                p.kill()


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(q / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def relay_args(relay, batch_ms=None):
    a = ["--relay=" + relay]
    if batch_ms is not None:
        a.append("--tx-batch-ms=%d" % batch_ms)
    return a


def run(args, n, k, rounds, cmpct, extra=(), tx_rounds=0):
    """One network: tx_rounds txs (tx -> all), then rounds blocks of k txs.
    Returns (tx times, block times, block bytes per node)."""
    for attempt in range(3):
        workdir = tempfile.mkdtemp(prefix="gossipd-prop-")
        try:
            net = Net(args, n, cmpct, workdir, extra)
            break
        except SystemExit as e:
            print("# network start failed (%s), retrying with other ports" % e, flush=True)
            shutil.rmtree(workdir, ignore_errors=True)
    else:
        raise SystemExit("could not start the network")
    try:
        net.fund()
        tx_times = []
        if tx_rounds:
            txids = net.send_txs(args.tx_warmup + tx_rounds, args.tx_gap_ms)
            time.sleep(0.3)   # logs flushed
            tx_times = net.tx_to_all_ms(txids[args.tx_warmup:])
            if rounds:
                net.mine(0, need=0)   # the block clears the mempools
        times, per_block_bytes = [], []
        for _ in range(rounds):
            before = block_bytes(net.rpc)
            h, origin = net.mine(k)
            time.sleep(0.3)   # logs flushed
            per_block_bytes.append((block_bytes(net.rpc) - before) / max(1, n - 1))
            t = net.block_to_all_ms(h, origin)
            if t is not None:
                times.append(t)
    finally:
        net.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("# kept %s" % workdir, flush=True)
    return tx_times, times, per_block_bytes


def row(kind, relay, label, times, extra=""):
    print("%-5s %-5s %-30s %6d %8.1f ms %8.1f ms %s" % (
        kind, relay, label, len(times), statistics.median(times) if times else float("nan"),
        pct(times, 90), extra), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--big-nodes", type=int, default=10)
    ap.add_argument("--txs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--big-rounds", type=int, default=5)
    ap.add_argument("--tx-rounds", type=int, default=40, help="txs measured per network")
    ap.add_argument("--tx-warmup", type=int, default=5,
                    help="txs sent first and not measured (push learns its links)")
    ap.add_argument("--tx-gap-ms", type=int, default=150, help="between two measured txs")
    ap.add_argument("--tx-batch-ms", type=int, default=10,
                    help="the short tx batch of the second tx row (default 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--relay", choices=("both", "pull", "push"), default="both")
    ap.add_argument("--cmpct", choices=("both", "on", "off"), default="on")
    ap.add_argument("--what", choices=("all", "tx", "block"), default="all")
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--keep", action="store_true", help="keep the node directories")
    ap.add_argument("--node-arg", action="append", default=[],
                    help="an option for every gossipd (repeatable), e.g. --node-arg=--dbfsync=0")
    args = ap.parse_args()
    cmpcts = {"both": (True, False), "on": (True,), "off": (False,)}[args.cmpct]
    relays = {"both": ("pull", "push"), "pull": ("pull",), "push": ("push",)}[args.relay]
    do_tx = args.what in ("all", "tx") and args.tx_rounds > 0
    do_block = args.what in ("all", "block")
    print("propagation over real gossipd on 127.0.0.1, ring + chord, seed %d, load %s%s" % (
        args.seed, " ".join("%.2f" % x for x in os.getloadavg()),
        ", nodes run with " + " ".join(args.node_arg) if args.node_arg else ""))
    print("%-5s %-5s %-30s %6s %11s %11s %s" % ("what", "relay", "case", "rounds", "median",
                                                "p90", "bytes/node"))
    for relay in relays:
        # N nodes, default batch: tx -> all, then 1-tx blocks with compact blocks on
        first_cmpct = cmpcts[0]
        txt, bt, nb = run(args, args.nodes, 0, args.rounds if do_block else 0, first_cmpct,
                          relay_args(relay), args.tx_rounds if do_tx else 0)
        if do_tx:
            row("tx", relay, "N=%d, default batch" % args.nodes, txt)
        if do_tx:
            txt, _, _ = run(args, args.nodes, 0, 0, True,
                            relay_args(relay, args.tx_batch_ms), args.tx_rounds)
            row("tx", relay, "N=%d, batch %d ms" % (args.nodes, args.tx_batch_ms), txt)
        if not do_block:
            continue
        for cmpct in cmpcts:
            if cmpct != first_cmpct:
                _, bt, nb = run(args, args.nodes, 0, args.rounds, cmpct, relay_args(relay))
            row("block", relay, "1 tx, N=%d, cmpct %s" % (args.nodes, "on" if cmpct else "off"),
                bt, "%10.0f" % (statistics.median(nb) if nb else 0))
            if not args.big_rounds:
                continue
            _, bt2, nb2 = run(args, args.big_nodes, args.txs, args.big_rounds, cmpct,
                              relay_args(relay))
            row("block", relay, "%d txs, N=%d, cmpct %s" % (args.txs + 1, args.big_nodes,
                                                          "on" if cmpct else "off"),
                bt2, "%10.0f" % (statistics.median(nb2) if nb2 else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
