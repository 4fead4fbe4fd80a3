#!/usr/bin/env python3
"""gossipd integration: nothing acknowledged is lost.

test_kill9_under_load: three regtest nodes (a, b and the victim v, which
dials both). A load thread sends txs to v (sendtoaddress from v's key, and
sendrawtransaction of txs signed by the development key), a miner thread
calls generate on a and on v, and v is killed with SIGKILL KILLS times at
random moments and restarted with the same command line. Afterwards every
txid v acknowledged must end in a block of the common best chain (or, if
the drain runs out of time, in every live mempool), and every block v
reported as committed (its tip before each kill, the blocks its generate
returned) must still be stored at v.

test_disk_full: a node whose datadir is a 2 MiB tmpfs, filled up by another
file. The first store write that fails logs `store_error` at error level
with "No space left on device", puts the node in safe mode (generate and
the tx RPCs answer -20, getblockchaininfo warnings and /metrics say so), and
a write probe takes it out again once the file is removed. A block whose
connect failed is not what a restart connects: after a kill -9 on a full
disk and a restart with space, the tip is the one before it and the block
is not stored. Skipped (a line says so) where mount is not permitted.

test_lost_tail: with -dbfsync=0 (the default) a power loss may take back
the last commits of chain.db (WAL, synchronous=NORMAL: never a torn
state). The node key made at the first start is in the database file
itself, not only in the unsynced WAL. A lost tail is simulated with the
file as it was at an earlier clean stop: the node starts at that height,
gets the blocks it lost back from its peer, and mines on top.

test_restart_keeps_peers: a node's manual bans (with their expiry), its
address book and its anchors survive a restart: bans even a kill -9 right
after setban; an expired ban does not come back; after a clean stop the
node, which dials nobody by itself, reconnects to its anchor.

usage: test_node_durability.py GOSSIPD GOSSIP-CLI [TEST ...]
"""
import errno
import http.client
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RPCError, run, wait_for  # noqa: E402

COIN = 100000000
KILLS = 4                    # kill -9 rounds
KILL_AFTER_S = (1.0, 2.5)    # random pause before each kill
DRAIN_S = 60                 # bound for mining everything in afterwards
FEE = 1000


def txids_in_chain(node):
    out = set()
    h = node.call("getbestblockhash")
    while True:
        b = node.call("getblock", h)
        out.update(b["tx"])
        if "previousblockhash" not in b:
            return out
        h = b["previousblockhash"]


def test_kill9_under_load(env):
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    v = env.node("v", "--connect=127.0.0.1:%d" % a.port,
                 "--connect=127.0.0.1:%d" % b.port).start()
    wait_for("v connected to a and b", lambda: v.call("getconnectioncount") == 2)
    key = os.path.join(env.tmp, "dev.key")
    a.cli("devkey", key)
    v_addr = v.call("getnewaddress")
    to = [a.call("getnewaddress"), b.call("getnewaddress")]
    a.call("generatetoaddress", 4, v_addr)          # fund v's key: 200 coins
    wait_for("v funded", lambda: v.call("getaccount", v_addr)["balance"] >= 4 * 50 * COIN)

    acked = []                # txids v returned
    rejected = []             # (method, error) v answered with an error
    committed = []            # block hashes v reported
    lock = threading.Lock()
    stop = threading.Event()
    state = {"raw_nonce": 0, "raw_hex": None}

    def alive(n):
        return n.proc is not None and n.proc.poll() is None

    def load():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 3 == 0:
                    if state["raw_hex"] is None:
                        state["raw_hex"] = v.cli("tx", key, random.choice(to), "1000",
                                                 str(FEE), str(state["raw_nonce"]))
                    txid = v.call("sendrawtransaction", state["raw_hex"], timeout=10)
                    state["raw_nonce"] += 1
                    state["raw_hex"] = None
                else:
                    txid = v.call("sendtoaddress", random.choice(to), 1000 + i, timeout=10)
                with lock:
                    acked.append(txid)
            except RPCError as e:
                if e.code == -28:
                    time.sleep(0.05)   # v restarting, still loading: nothing acknowledged
                    continue
                if e.message == "tx-nonce-already-used" and state["raw_hex"]:
                    # an unacknowledged raw tx that v had kept: confirmed before we heard
                    state["raw_nonce"] += 1
                    state["raw_hex"] = None
                    continue
                with lock:
                    rejected.append(e.message)
            except Exception:
                time.sleep(0.05)   # v is down: nothing acknowledged
            time.sleep(0.01)

    def mine():
        k = 0
        while not stop.is_set():
            k += 1
            n = v if k % 3 == 0 else a
            try:
                hs = n.call("generate", 1, timeout=10)
                if n is v:
                    with lock:
                        committed.extend(hs)
            except Exception:
                pass
            stop.wait(0.4)

    threads = [threading.Thread(target=load), threading.Thread(target=mine)]
    for t in threads:
        t.start()
    kills = []
    try:
        for r in range(KILLS):
            time.sleep(random.uniform(*KILL_AFTER_S))
            tip, height = v.call("getbestblockhash"), v.call("getblockcount")
            with lock:
                committed.append(tip)
                n_acked = len(acked)
                acked_before = list(acked)
            n_resubmits = len(v.events("own_txs_resubmitted"))
            v.proc.kill()
            v.proc.wait(timeout=10)
            v.logf.close()
            v.proc = None
            kills.append((tip, height, n_acked))
            time.sleep(random.uniform(0.1, 0.5))
            v.start()
            assert v.call("getblockcount") >= height, "v lost committed blocks"
            v.call("getblock", tip)        # the tip before the kill is stored
            # The start resubmits what was unconfirmed at the kill; when it
            # logs nothing, nothing was: all v acknowledged is in its chain.
            restored = v.events("own_txs_resubmitted")[n_resubmits:]
            if restored:
                assert restored[0]["at_start"], restored
            else:
                unconfirmed = set(acked_before) - txids_in_chain(v)
                assert not unconfirmed, "no resubmission at start, %d acknowledged txs " \
                    "unconfirmed, e.g. %s" % (len(unconfirmed), sorted(unconfirmed)[:2])
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not [t for t in threads if t.is_alive()], "load threads did not stop"
    assert len(kills) == KILLS and len(acked) > 20, (kills, len(acked))

    # Every block v reported committed is still stored at v.
    for h in committed:
        v.call("getblock", h)

    # Mine until every acknowledged tx is in the common best chain.
    wait_for("v reconnected", lambda: v.call("getconnectioncount") == 2)
    want = set(acked)
    deadline = time.monotonic() + DRAIN_S
    missing = want
    while time.monotonic() < deadline:
        a.call("generate", 1)
        tip = a.call("getbestblockhash")
        wait_for("same tip everywhere",
                 lambda: v.call("getbestblockhash") == tip and b.call("getbestblockhash") == tip)
        missing = want - txids_in_chain(a)
        if not missing:
            break
        time.sleep(0.5)
    if missing:
        pools = [set(n.call("getrawmempool")) for n in (a, b, v)]
        lost = [t for t in missing if not all(t in p for p in pools)]
        assert not lost, "%d of %d acknowledged txs lost, e.g. %s" % (len(lost), len(want),
                                                                     lost[:3])
    assert not rejected, "v rejected its own submissions: %r" % rejected[:5]
    print("kill -9: %d kills, %d txs acknowledged, %d in blocks, %d blocks v committed, "
          "final height %d" % (len(kills), len(want), len(want) - len(missing), len(committed),
                               a.call("getblockcount")), flush=True)
    for n in (a, b, v):
        assert n.stop() == 0


TMPFS_SIZE = "2m"
ROOM_KIB = tuple(range(0, 52, 4))   # free space left before the failing block
SAFE_MODE_WAIT_S = 30        # the probe runs every NODE_STORE_PROBE_MS (5 s)


def fill(path):
    """Write zeros to path until the file system is full; returns bytes written."""
    n = 0
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    return n


def metrics(node):
    return node.metrics()


def fail_until_safe(n, make_tx):
    """Mine (and send, with make_tx) until the store refuses; returns the error."""
    for _ in range(400):
        try:
            if make_tx:
                n.call("sendtoaddress", "11" * 32, 1000)
            n.call("generate", 1)
        except RPCError as e:
            return e
    raise AssertionError("the store never failed on a full disk")


def test_disk_full(env):
    n = env.node("f", "--nodebuglogfile")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs",
                              n.datadir], capture_output=True, text=True)
    if mounted.returncode != 0:
        print("skip test_disk_full: cannot mount a tmpfs (%s)" % mounted.stderr.strip(),
              flush=True)
        return
    filler = os.path.join(n.datadir, "filler")
    try:
        n.start()
        n.call("generate", 3)
        # 1. the disk fills: safe mode, with the reason everywhere
        fill(filler)
        e = fail_until_safe(n, True)
        assert e.code == -20 and "safe mode" in e.message, e
        assert "No space left on device" in e.message, e
        errs = [x for x in n.events("store_error") if x["level"] == "error"]
        assert errs and errs[0]["reason"] == "No space left on device", errs
        info = n.call("getblockchaininfo")
        assert "No space left on device" in info["warnings"], info
        m = metrics(n)
        assert m["gossipd_safe_mode"] == 1 and m["gossipd_store_errors_total"] >= 1, m
        for call in (("generate", 1), ("sendtoaddress", "11" * 32, 1000)):
            try:
                n.call(*call)
                raise AssertionError("%s answered in safe mode" % call[0])
            except RPCError as e2:
                assert e2.code == -20, e2
        # 2. space is back: the probe ends safe mode, mining works again
        os.unlink(filler)
        wait_for("safe mode off", lambda: n.events("safe_mode_off"), timeout=SAFE_MODE_WAIT_S)
        assert n.call("getblockchaininfo")["warnings"] == ""
        assert metrics(n)["gossipd_safe_mode"] == 0
        h = n.call("getblockcount")
        n.call("generate", 1)
        assert n.call("getblockcount") == h + 1
        # 3. a mined block that failed is not connected after a restart: with
        # a little room left, its body may fit where its connect does not
        for room in ROOM_KIB:
            size = fill(filler)
            os.truncate(filler, max(0, size - room * 1024))
            e = fail_until_safe(n, False)
            assert "mining failed" in e.message, e
            bad = [x["hash"] for x in n.events("block_rejected") if x["reason"] == "store-error"]
            assert bad, "no block_rejected store-error logged"
            tip, height = n.call("getbestblockhash"), n.call("getblockcount")
            n.proc.kill()
            n.proc.wait(timeout=10)
            n.logf.close()
            n.proc = None
            os.unlink(filler)
            n.start()
            assert n.call("getbestblockhash") != bad[-1], "room %d KiB: the failed block " \
                "is the tip after a restart" % room
            assert n.call("getbestblockhash") == tip and n.call("getblockcount") == height
            try:
                n.call("getblock", bad[-1])
                raise AssertionError("room %d KiB: the failed block is stored" % room)
            except RPCError as e3:
                assert e3.code in (-5, -1), e3
            n.call("generate", 1)
            assert n.call("getblockcount") == height + 1
        print("disk full: safe mode after %d store errors, left after the probe; %d failed "
              "blocks, none connected after a restart" % (len(errs), len(ROOM_KIB)),
              flush=True)
        assert n.stop() == 0
    finally:
        if n.proc is not None and n.proc.poll() is None:
            n.proc.kill()
            n.proc.wait()
        subprocess.run(["umount", "-l", n.datadir], capture_output=True)


def kill9(n):
    n.proc.kill()
    n.proc.wait(timeout=10)
    n.logf.close()
    n.proc = None


def test_lost_tail(env):
    a = env.node("a", "--connect=0").start()
    v = env.node("v", "--connect=127.0.0.1:%d" % a.port).start()
    db = os.path.join(v.datadir, "chain.db")
    # The node key, read from a copy of the database file without its WAL.
    snap = os.path.join(env.tmp, "v-snapshot.db")
    shutil.copyfile(db, snap)
    con = sqlite3.connect(snap)
    try:
        row = con.execute("SELECT val FROM meta WHERE key = 'node_key'").fetchone()
    except sqlite3.OperationalError:
        row = None                # not even the schema is in the file
    con.close()
    assert row is not None, "the node key is only in the WAL"
    assert bytes(row[0])[32:].hex() == v.call("getnewaddress")

    wait_for("v and a connected", lambda: v.call("getconnectioncount") >= 1)
    v.call("generate", 2)
    wait_for("a at height 2", lambda: a.call("getblockcount") == 2)
    assert v.stop() == 0          # a clean stop checkpoints the WAL into chain.db
    saved = os.path.join(env.tmp, "v-chain-at-2.db")
    shutil.copyfile(db, saved)
    v.start()
    wait_for("v and a connected again", lambda: v.call("getconnectioncount") >= 1)
    v.call("generate", 3)
    wait_for("a at height 5", lambda: a.call("getblockcount") == 5)
    tip = a.call("getbestblockhash")
    assert v.stop() == 0
    # The power loss: the file as it was at height 2.
    for ext in ("-wal", "-shm"):
        if os.path.exists(db + ext):
            os.remove(db + ext)
    shutil.copyfile(saved, db)
    v.start()
    assert v.events("store_checked")[-1]["height"] == 2
    wait_for("v got its lost blocks back", lambda: v.call("getbestblockhash") == tip)
    v.call("generate", 1)
    wait_for("a has v's next block", lambda: a.call("getblockcount") == 6)
    for n in (a, v):
        assert n.stop() == 0


def test_restart_keeps_peers(env):
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=0").start()
    v = env.node("v", "--connect=0").start()     # dials nobody by itself
    v.call("setban", "192.0.2.7", "add", 3600)
    v.call("setban", "198.51.100.0/24", "add", 7200)
    v.call("setban", "203.0.113.9", "add", 2)            # expires while v is down
    bans = {x["address"]: x for x in v.call("listbanned")}
    assert len(bans) == 3, bans

    # kill -9 right after setban: the bans were written at once
    kill9(v)
    time.sleep(2.5)
    v.start()
    kept = {x["address"]: x for x in v.call("listbanned")}
    assert set(kept) == {"192.0.2.7", "198.51.100.0/24"}, kept
    for k, x in kept.items():
        assert x["banned_until"] == bans[k]["banned_until"], (x, bans[k])
        assert x["ban_created"] == bans[k]["ban_created"] and x["reason"] == "manually added"
    v.call("setban", "192.0.2.7", "remove")

    # a clean stop keeps the book and the anchors; the restarted v dials a
    v.call("addnode", "127.0.0.1:%d" % a.port, "onetry")      # v's outbound: its anchor
    b.call("addnode", "127.0.0.1:%d" % v.port, "onetry")      # b's listening address: v's book
    wait_for("v's outbound to a is up", lambda: any(
        not p["inbound"] and p["addr"] == "127.0.0.1:%d" % a.port and p["established"]
        for p in v.call("getpeerinfo")))
    wait_for("b in v's book", lambda: ("127.0.0.1", b.port) in
             {(x["address"], x["port"]) for x in v.call("getnodeaddresses", 0)})
    assert v.stop() == 0
    v.start()
    loaded = v.events("peers_loaded")[-1]
    assert loaded["anchors"] == 1 and loaded["addresses"] >= 1 and loaded["bans"] == 1, loaded
    assert ("127.0.0.1", b.port) in {(x["address"], x["port"])
                                     for x in v.call("getnodeaddresses", 0)}
    assert [x["address"] for x in v.call("listbanned")] == ["198.51.100.0/24"]
    wait_for("v dialled its anchor", lambda: any(
        not p["inbound"] and p["addr"] == "127.0.0.1:%d" % a.port and p["established"]
        for p in v.call("getpeerinfo")))
    assert not os.path.exists(os.path.join(v.datadir, "anchors.dat"))   # used once
    for n in (a, b, v):
        assert n.stop() == 0


if __name__ == "__main__":
    run([test_kill9_under_load, test_disk_full, test_lost_tail, test_restart_keeps_peers],
        sys.argv)
