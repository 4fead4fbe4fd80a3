#!/usr/bin/env python3
"""Integration test of tools/testnet with real gossipd processes on 127.0.0.1.

An 8-node regtest testnet (random topology, degree 4) started with
`tools/testnet up --detach`; the development key funds every node's key; then 200
transactions are sent with sendtoaddress at random nodes, in 10 rounds of 20, each
round followed by a block mined with `generate` at a random node (10 blocks, plus the
funding block). At the end every node must have the same tip, the same ledger
(getaccount of the dev key and of every node's key) and an empty mempool, and
tools/propagation-report's figures must match the logs: every block reached 100 % of
the nodes, no block body arrived twice, and per-tx coverage and duplicate counts equal
what the raw log lines say. Processes are stopped by PID (`tools/testnet down`, then a
check that every recorded PID is gone).

usage: test_testnet.py BUILD_DIR | GOSSIPD [GOSSIP_CLI]   (meson passes the executables)
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TESTNET = os.path.join(REPO, "tools", "testnet")

NODES = 8
TXS = 200
ROUNDS = 10
DEADLINE_S = 420                 # the whole test
WAIT_S = 30                      # each convergence wait
COIN = 100000000


def load_launcher():
    from importlib.machinery import SourceFileLoader
    from importlib.util import module_from_spec, spec_from_loader
    loader = SourceFileLoader("testnet_launcher", TESTNET)
    spec = spec_from_loader("testnet_launcher", loader)
    mod = module_from_spec(spec)
    loader.exec_module(mod)
    return mod


tn = load_launcher()
START = time.monotonic()
checks = {"passed": 0, "failed": 0}


class Failure(Exception):
    pass


def left():
    return DEADLINE_S - (time.monotonic() - START)


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - START, msg), flush=True)


def check(cond, what):
    if cond:
        checks["passed"] += 1
        log("ok: " + what)
    else:
        checks["failed"] += 1
        log("FAIL: " + what)
        raise Failure(what)


def wait_until(what, fn, timeout_s=WAIT_S):
    end = time.monotonic() + min(timeout_s, max(1.0, left()))
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise Failure("timed out waiting for %s" % what)


def call(node, method, *params):
    r = tn.node_rpc(node)
    try:
        return r.call(method, *params)
    finally:
        r.close()


def balance(acct):
    return tn.balance_of(acct)


def main():
    if len(sys.argv) > 1 and os.path.isfile(sys.argv[1]):
        # meson passes the gossipd executable: its build directory is two levels up
        build_dir = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1])))
    else:
        build_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                    else os.path.join(REPO, "build"))
    gossipd, cli = tn.binaries(build_dir)
    if not os.access(gossipd, os.X_OK) or not os.access(cli, os.X_OK):
        print("SKIP: %s or gossip-cli not built" % gossipd)
        return 77                                   # meson: skipped
    d = tempfile.mkdtemp(prefix="gossipd-testnet-")
    st = None
    rng = random.Random(2026)
    try:
        up = subprocess.run(
            [sys.executable, TESTNET, "up", "--dir", d, "--nodes", str(NODES),
             "--network", "regtest", "--block-interval", "0", "--topology", "random:4",
             "--seed", "7", "--detach", "--no-build", "--build-dir", build_dir],
            capture_output=True, text=True, timeout=120)
        print(up.stdout)
        check(up.returncode == 0, "tools/testnet up --detach (%s)" % up.stderr.strip()[-400:])
        st = json.load(open(os.path.join(d, "testnet.json")))
        nodes = st["nodes"]
        check(len(nodes) == NODES and all(tn.pid_alive(n["pid"]) for n in nodes),
              "%d gossipd processes running" % NODES)
        wait_until("every node to have a peer",
                   lambda: all((tn.try_call(n, "getconnectioncount") or 0) >= 1 for n in nodes))

        # Fund every node's key from the development key, in one block.
        addr = {n["name"]: call(n, "getnewaddress") for n in nodes}
        dev = tn.dev_key_file(st, cli)
        dev_addr = subprocess.run([cli, "address", dev], capture_output=True, text=True,
                                  check=True).stdout.strip()
        fund = 1000 * COIN
        for n in nodes:
            tn.cli_send(cli, nodes[0], "regtest", dev, addr[n["name"]], fund)
        wait_until("the funding txs in node n1's mempool",
                   lambda: (tn.try_call(nodes[0], "getmempoolinfo") or {}).get("size") == NODES)
        call(nodes[0], "generate", 1)
        wait_until("funded balances everywhere", lambda: all(
            balance(tn.try_call(m, "getaccount", addr[n["name"]])) >= fund
            for m in nodes for n in nodes))
        log("funded %d node keys" % NODES)

        # 200 txs at random nodes, 10 rounds each closed by a block mined at a random node.
        sent = []
        per_round = TXS // ROUNDS
        for rnd in range(ROUNDS):
            batch = []
            for _ in range(per_round):
                src = rng.choice(nodes)
                dst = rng.choice([n for n in nodes if n is not src])
                txid = call(src, "sendtoaddress", addr[dst["name"]], rng.randint(1, 1000) * 1000)
                batch.append(txid)
            sent += batch
            want = set(batch)
            wait_until("round %d's txs in every mempool" % (rnd + 1), lambda: all(
                want <= set(tn.try_call(n, "getrawmempool") or []) for n in nodes))
            miner = rng.choice(nodes)
            call(miner, "generate", 1)
        log("sent %d txs, mined %d blocks" % (len(sent), ROUNDS))
        check(len(set(sent)) == TXS, "%d distinct txids from sendtoaddress" % TXS)

        # Convergence: same tip, empty mempools, same ledger.
        def same_tip():
            tips = [tn.try_call(n, "getbestblockhash") for n in nodes]
            return tips[0] if tips[0] and len(set(tips)) == 1 else None
        tip = wait_until("the same tip on every node", same_tip)
        check(True, "every node's tip is %s" % tip)
        height = call(nodes[0], "getblockcount")
        check(height == ROUNDS + 1, "height %d = %d rounds + the funding block" % (height, ROUNDS))
        wait_until("empty mempools", lambda: all(
            (tn.try_call(n, "getmempoolinfo") or {}).get("size") == 0 for n in nodes))
        check(True, "every mempool is empty")
        keys = [dev_addr] + sorted(addr.values())
        ledgers = [[call(n, "getaccount", k) for k in keys] for n in nodes]
        check(all(l == ledgers[0] for l in ledgers),
              "the same ledger (getaccount of %d keys) on every node" % len(keys))
        total = sum(balance(a) for a in ledgers[0])
        check(all(balance(a) >= 0 for a in ledgers[0]), "balances read (sum %d)" % total)
        chain = [call(nodes[0], "getblockhash", h) for h in range(1, height + 1)]

        # Stop, then check the report against the raw logs.
        down = subprocess.run([sys.executable, TESTNET, "down", "--dir", d],
                              capture_output=True, text=True, timeout=60)
        check(down.returncode == 0, "tools/testnet down")
        check(not any(tn.pid_is(n["pid"], "gossipd", n["datadir"]) for n in nodes),
              "every gossipd PID is gone")
        rep = subprocess.run([sys.executable, TESTNET, "report", "--dir", d, "--json"],
                             capture_output=True, text=True, timeout=120)
        check(rep.returncode == 0, "tools/testnet report --json")
        report = json.loads(rep.stdout)
        check_report(report, nodes, chain, sent)
        txt = subprocess.run([sys.executable, TESTNET, "report", "--dir", d],
                             capture_output=True, text=True, timeout=120)
        print(txt.stdout)
        check(os.path.getsize(os.path.join(d, "report.svg")) > 1000, "report.svg written")
    except Failure as e:
        log("failure: %s" % e)
        if checks["failed"] == 0:
            checks["failed"] += 1
        for n in (st or {}).get("nodes", []):
            print("---- %s (last lines)\n%s" % (n["name"], tn.log_tail(n["log"], 6)))
    finally:
        if st is not None:
            # Whatever happened: stop by the recorded PIDs only.
            pids = [(n["pid"], ("gossipd", n["datadir"])) for n in st["nodes"] if n.get("pid")]
            try:
                st2 = json.load(open(os.path.join(d, "testnet.json")))
                if st2.get("driver_pid"):
                    pids.append((st2["driver_pid"], ("testnet", "_driver")))
            except (OSError, ValueError):
                pass
            tn.stop_pids(pids, timeout_s=10)
        if checks["failed"] == 0:
            shutil.rmtree(d, ignore_errors=True)
        else:
            log("data and logs kept in %s" % d)
    print("testnet: %d passed, %d failed" % (checks["passed"], checks["failed"]))
    return 1 if checks["failed"] else 0


def check_report(report, nodes, chain, sent):
    # gossipd's stderr is its log: a sanitizer report (ASan build) would be there.
    bad = []
    for n in nodes:
        with open(n["log"], errors="replace") as f:
            bad += ["%s: %s" % (n["name"], l.strip()) for l in f
                    if "Sanitizer" in l or "runtime error:" in l]
    check(not bad, "no sanitizer report in the logs%s" % (": " + bad[0] if bad else ""))
    names = [n["name"] for n in nodes]
    check(report["node_count"] == NODES and report["nodes"] == names,
          "report sees the %d nodes" % NODES)
    # Raw log facts, counted here independently of the report.
    mined, first, dup_body_blk, tx_seen, tx_dup = {}, {}, 0, {}, {}
    for n in nodes:
        with open(n["log"], errors="replace") as f:
            for line in f:
                ev = tn.parse_event(line)
                if ev is None:
                    continue
                e = ev["event"]
                if e == "block_mined":
                    mined[ev["hash"]] = ev["node"]
                elif e == "block_received":
                    if ev.get("first_seen"):
                        first.setdefault(ev["hash"], set()).add(ev["node"])
                    else:
                        dup_body_blk += 1
                elif e == "tx_accepted":
                    # source reorg: a tx that waited for an earlier nonce entered the
                    # mempool (gossipd logs it without its peer); it counts as arrived
                    if ev.get("first_seen") is False and ev.get("source") == "peer":
                        tx_dup[ev["txid"]] = tx_dup.get(ev["txid"], 0) + 1
                    else:
                        tx_seen.setdefault(ev["txid"], set()).add(ev["node"])
                elif e == "tx_duplicate":
                    tx_dup[ev["txid"]] = tx_dup.get(ev["txid"], 0) + 1
    blocks = {b["hash"]: b for b in report["blocks"]}
    check(set(chain) <= set(mined), "every chain block has a block_mined line")
    check(set(blocks) == set(mined) | set(first), "the report lists every logged block")
    for h in chain:
        b = blocks[h]
        check(b["origin"] == mined[h] and b["reached"] == NODES and b["coverage"] == 100.0
              and b["t100_ms"] is not None and b["dup_bodies"] == 0
              and len(first.get(h, ())) == NODES - 1,
              "block %d: origin %s, 100 %% coverage in %s ms, %d hops max, 0 dup bodies"
              % (b["height"], b["origin"], b["t100_ms"], b["hops_max"]))
    check(report["totals"]["block_dup_bodies"] == dup_body_blk == 0,
          "duplicate block bodies = 0 (report and logs)")
    txs = {t["txid"]: t for t in report["tx_list"]}
    check(set(sent) <= set(txs), "the report lists all %d sent txs" % len(sent))
    check(all(txs[t]["reached"] == len(tx_seen.get(t, ())) for t in txs),
          "per-tx coverage equals the nodes logging tx_accepted")
    check(all(txs[t]["reached"] == NODES for t in sent), "every sent tx reached all 8 mempools")
    check(report["txs"]["dup_bodies"] == sum(tx_dup.values()),
          "tx duplicate bodies match the logs (%d)" % report["txs"]["dup_bodies"])


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
