#!/usr/bin/env python3
"""gossipd integration, operator side: store integrity and -reindex, RPC that
cannot be locked out, /metrics checked by promtool, notifications (ZMQ,
-blocknotify), long polls and an external miner.

usage: test_node_service.py GOSSIPD GOSSIP-CLI [TEST ...]
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RPCError, run, wait_for  # noqa: E402


def run_refused(node, *extra, timeout=60):
    """Start node with extra flags, expect it to exit non-zero; return its output."""
    p = subprocess.run(node.args() + list(extra), capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode != 0, "expected a refused start, got exit 0:\n" + p.stderr[-2000:]
    return p.stdout + p.stderr


def fill_chain(n, blocks):
    """blocks blocks on n, some of them carrying txs."""
    addr = n.call("getnewaddress")
    n.call("generate", blocks // 2)
    for _ in range(5):
        n.call("sendtoaddress", "11" * 32, 1000)
        n.call("generate", 1)
    n.call("generate", blocks - blocks // 2 - 5)
    return addr


def test_store_corruption_reindex(env):
    """4 KiB of chain.db overwritten: refused with the recovery message,
    repaired by --reindex, the rest fetched again from a peer."""
    a = env.node("a", "--connect=0").start()
    fill_chain(a, 300)
    height = a.call("getblockcount")
    tip = a.call("getbestblockhash")
    addr = a.call("getnewaddress")
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    wait_for("b synced", lambda: b.call("getbestblockhash") == tip, timeout=60)
    assert a.stop() == 0
    db = os.path.join(a.datadir, "chain.db")
    size = os.path.getsize(db)
    assert size > 64 * 1024, size
    with open(db, "r+b") as f:
        f.seek((size // 2) // 4096 * 4096)
        f.write(os.urandom(4096))
    out = run_refused(a)
    assert "corrupt" in out and "--reindex" in out, out[-2000:]
    # the refused start did not touch the file beyond reading it
    assert os.path.getsize(db) == size
    a.extra_args.append("--reindex")
    a.start()
    done = a.events("reindex_done")
    assert done, "no reindex_done event"
    assert a.call("getnewaddress") == addr   # the node key survived
    a.extra_args.remove("--reindex")
    # whatever the damage cost comes back from the peer
    a.call("addnode", "127.0.0.1:%d" % b.port, "add")
    wait_for("a back at its tip", lambda: a.call("getbestblockhash") == tip, timeout=90)
    assert a.call("getblockcount") == height
    assert a.stop() == 0
    # a clean restart passes the checks
    a.start()
    assert a.call("getbestblockhash") == tip
    a.stop()
    b.stop()


def test_store_missing_tip_body(env):
    a = env.node("a", "--connect=0").start()
    a.call("generate", 20)
    tip = a.call("getbestblockhash")
    assert a.stop() == 0
    db = os.path.join(a.datadir, "chain.db")
    con = sqlite3.connect(db)
    con.execute("DELETE FROM block_body WHERE hash = ?", (bytes.fromhex(tip)[::-1],))
    con.commit()
    con.close()
    out = run_refused(a)
    assert "corrupt" in out and "missing" in out and "--reindex" in out, out[-2000:]


def test_checkblocks_catches_a_tampered_ledger(env):
    a = env.node("a", "--connect=0").start()
    a.call("generate", 20)
    miner = bytes.fromhex(a.call("getnewaddress"))
    assert a.stop() == 0
    db = os.path.join(a.datadir, "chain.db")
    con = sqlite3.connect(db)
    cur = con.execute("UPDATE account SET balance = balance + 1 WHERE pk = ?", (miner,))
    assert cur.rowcount == 1
    con.commit()
    con.close()
    out = run_refused(a, "--checkblocks=6")
    assert "corrupt" in out and "ledger" in out, out[-2000:]
    # with the check off the damage goes unnoticed: the check is what refuses
    a.extra_args.append("--checkblocks=0")
    a.start()
    a.stop()


TESTS = [
    test_store_corruption_reindex,
    test_store_missing_tip_body,
    test_checkblocks_catches_a_tampered_ledger,
]

if __name__ == "__main__":
    run(TESTS, sys.argv)
