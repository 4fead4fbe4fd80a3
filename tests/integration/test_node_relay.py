#!/usr/bin/env python3
"""gossipd integration: three nodes in a line, a -- b -- c.

A tx sent to a with `gossip-cli send` and a block mined on a with `generate`
reach c through b; each node's JSON log shows its first-seen event with the
peer it came from.

usage: test_node_relay.py GOSSIPD GOSSIP-CLI [TEST ...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run, wait_for  # noqa: E402

COIN = 100000000


def line_of_three(env):
    a = env.node("a", "--connect=0").start()   # a opens no connection of its own
    # b checks signatures on two worker threads, c on its event loop.
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port, "--debug=net,p2p", "-par=2").start()
    c = env.node("c", "--connect=127.0.0.1:%d" % b.port, "-par=1").start()
    wait_for("a-b and b-c handshakes",
             lambda: a.call("getconnectioncount") == 1 and b.call("getconnectioncount") == 2
             and c.call("getconnectioncount") == 1)
    wait_for("peer_connected logged with names",
             lambda: {e["peer_name"] for e in b.events("peer_connected")} == {"a", "c"})
    return a, b, c


def first_seen(node, event, key, h):
    for e in node.events(event):
        if e.get(key) == h and e.get("first_seen") is True:
            return e
    return None


def test_line_relay(env):
    a, b, c = line_of_three(env)
    peers = b.call("getpeerinfo")
    assert sorted(p["name"] for p in peers) == ["a", "c"], peers
    assert all(p["bytessent"] > 0 and "version" in p["bytesrecv_per_msg"] for p in peers)

    key = os.path.join(env.tmp, "dev.key")
    a.cli("devkey", key)
    to = c.call("getnewaddress")
    txid = a.cli("send", key, to, str(3 * COIN))
    for n in (a, b, c):
        wait_for("tx at %s" % n.name, lambda n=n: txid in n.call("getrawmempool"))
    ea = first_seen(a, "tx_accepted", "txid", txid)
    assert ea and ea["source"] == "rpc", ea
    eb = wait_for("b's tx_accepted", lambda: first_seen(b, "tx_accepted", "txid", txid))
    assert eb["source"] == "peer" and eb["peer_name"] == "a", eb
    ec = wait_for("c's tx_accepted", lambda: first_seen(c, "tx_accepted", "txid", txid))
    assert ec["source"] == "peer" and ec["peer_name"] == "b", ec
    assert c.call("getpropagation", txid)["peer_name"] == "b"
    # The peer's tx was checked on b's workers; c (-par=1) checked it inline.
    assert b.metrics()["gossipd_sigs_offloaded_total"] >= 1
    assert c.metrics()["gossipd_sigs_offloaded_total"] == 0
    wait_for("a announced the tx",
             lambda: any(e["hash"] == txid and e["peers"] >= 1 for e in a.events("announced")))

    blk = a.call("generate", 1)[0]
    for n in (a, b, c):
        wait_for("block at %s" % n.name, lambda n=n: n.call("getbestblockhash") == blk)
    assert a.events("block_mined")[-1]["hash"] == blk
    rb = wait_for("b's block_received", lambda: first_seen(b, "block_received", "hash", blk))
    assert rb["peer_name"] == "a" and rb["height"] == 1 and rb["delay_ms"] >= 0, rb
    rc = wait_for("c's block_received", lambda: first_seen(c, "block_received", "hash", blk))
    assert rc["peer_name"] == "b" and rc["height"] == 1, rc
    for n in (a, b, c):
        wait_for("block_connected at %s" % n.name,
                 lambda n=n: any(e["hash"] == blk for e in n.events("block_connected")))
        wait_for("mempool emptied at %s" % n.name, lambda n=n: n.call("getrawmempool") == [])
    assert c.call("getaccount", to)["balance"] == 3 * COIN
    p = c.call("getpropagation", blk)
    assert p["source"] == "peer" and p["peer_name"] == "b" and p["height"] == 1, p

    # --debug=net: a line per message; --debug=p2p: announcements received
    recv = b.events("msg_recv")
    assert any(e["cmd"] == "tx" and e["peer_name"] == "a" and e["bytes"] > 24 for e in recv)
    assert any(e["cmd"] in ("block", "cmpctblock") for e in recv) and b.events("msg_sent")
    assert any(e["hash"] == txid and e["type"] == "tx" for e in b.events("inv_received"))
    assert not c.events("msg_recv") and not c.events("inv_received")

    # peer management over RPC: drop and re-add c's link to b
    pid = [p["id"] for p in c.call("getpeerinfo")][0]
    assert c.call("disconnectnode", "", pid) is None
    wait_for("c reconnects to b (--connect is persistent)",
             lambda: len([e for e in c.events("peer_connected") if e["peer_name"] == "b"]) == 2
             and c.call("getconnectioncount") == 1)
    assert any(e["peer_name"] == "b" and e["reason"] for e in c.events("peer_disconnected"))
    for n in (a, b, c):
        assert n.stop() == 0


def test_push_relay(env):
    """--relay=push over real sockets: a -- b -- c push, d (pull) hangs off c.

    Txs from one sender (one origin bucket) sent at a reach every node, b and
    c learn to push that bucket's bodies eagerly, nothing goes back to its
    origin, and the pull node d is served by inv/getdata as before."""
    a = env.node("a", "--connect=0", "--relay=push").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port, "--relay=push").start()
    c = env.node("c", "--connect=127.0.0.1:%d" % b.port, "--relay=push").start()
    d = env.node("d", "--connect=127.0.0.1:%d" % c.port, "--relay=pull").start()
    wait_for("line handshakes",
             lambda: [n.call("getconnectioncount") for n in (a, b, c, d)] == [1, 2, 2, 1])
    key = os.path.join(env.tmp, "dev.key")
    a.cli("devkey", key)
    to = d.call("getnewaddress")
    txids = []
    for i in range(12):
        txids.append(a.cli("send", key, to, str(COIN + i)))
        # one at a time: each later tx can take the link the first ones grafted
        wait_for("tx %d at d" % i, lambda: txids[-1] in d.call("getrawmempool"))
    for n in (a, b, c, d):
        assert set(txids) <= set(n.call("getrawmempool")), n.name
    keys = ('gossipd_messages_total{direction="in",command="tx"}',
            'gossipd_messages_total{direction="out",command="getdata"}',
            "gossipd_push_grafts_total", "gossipd_tx_pushed_total", "gossipd_misbehaviours_total")
    m = {n.name: {k: n.metrics()[k] for k in keys} for n in (a, b, c, d)}
    tx_recv = {k: v[keys[0]] for k, v in m.items()}
    # The origin gets none of its own txs back; d and the push nodes each get
    # every body, with at most a few duplicates from the learning.
    assert tx_recv["a"] == 0, m
    for name in ("b", "c", "d"):
        assert len(txids) <= tx_recv[name] <= len(txids) + 2, m
    # b asked a to push the bucket (and c asked b): bodies went eagerly.
    assert m["b"]["gossipd_push_grafts_total"] >= 1 and m["c"]["gossipd_push_grafts_total"] >= 1, m
    assert m["a"]["gossipd_tx_pushed_total"] >= 1 and m["b"]["gossipd_tx_pushed_total"] >= 1, m
    # d does not speak pushreq: c never pushes to it, d pulls every body.
    assert m["d"][keys[1]] >= 1 and m["c"]["gossipd_tx_pushed_total"] == 0, m
    assert all(v["gossipd_misbehaviours_total"] == 0 for v in m.values()), m
    for n in (a, b, c, d):
        assert n.stop() == 0


def test_late_joiner_syncs(env):
    """A node that connects after blocks were mined catches up (headers sync)."""
    a = env.node("a").start()
    a.call("generate", 5)
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    wait_for("b synced", lambda: b.call("getblockcount") == 5)
    assert b.call("getbestblockhash") == a.call("getbestblockhash")
    # addnode at run time, by host name (resolved in the background)
    c = env.node("c", "--connect=0").start()
    assert c.call("addnode", "localhost:%d" % b.port, "add") is None
    wait_for("c synced", lambda: c.call("getblockcount") == 5)
    for n in (a, b, c):
        assert n.stop() == 0


def test_reorg_and_bans(env):
    """Two nodes mine apart, then meet: the shorter chain reorgs (logged),
    its txs go back to the mempool. Bans and garbage are logged too."""
    import socket
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=0").start()
    key = os.path.join(env.tmp, "dev.key")
    a.cli("devkey", key)
    txid = a.cli("send", key, "44" * 32, str(COIN))
    a_blocks = a.call("generate", 2)
    b_blocks = b.call("generate", 3)
    assert a.call("addnode", "127.0.0.1:%d" % b.port, "add") is None
    wait_for("a on b's chain", lambda: a.call("getbestblockhash") == b_blocks[-1])
    r = wait_for("reorg logged", lambda: a.events("reorg"))[0]
    assert r["old_tip"] == a_blocks[-1] and r["new_tip"] == b_blocks[-1] and r["depth"] == 2, r
    dis = {e["hash"] for e in a.events("block_disconnected")}
    assert dis == set(a_blocks), dis
    # the tx of a's lost block is back in the mempool, and reaches b
    wait_for("tx back in a's mempool", lambda: txid in a.call("getrawmempool"))
    assert any(e["txid"] == txid and e["source"] == "reorg" for e in a.events("tx_accepted"))
    wait_for("tx at b", lambda: txid in b.call("getrawmempool"))

    # a manual ban disconnects and is logged
    assert b.call("setban", "127.0.0.1", "add", 60) is None
    wait_for("ban logged", lambda: b.events("ban"))
    wait_for("b dropped a", lambda: b.call("getconnectioncount") == 0)
    assert b.call("listbanned")[0]["reason"] == "manually added"
    assert b.call("clearbanned") is None
    # garbage on the p2p port: the peer is dropped, the node carries on
    g = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    g.sendall(b"\xde\xad\xbe\xef" * 64)
    g.settimeout(10)
    try:
        while g.recv(4096):
            pass
    except OSError:
        pass
    g.close()
    wait_for("garbage peer gone", lambda: any(e["addr"].startswith("127.0.0.1") and
                                              e["peer_name"] == ""
                                              for e in a.events("peer_disconnected")) or
             any(True for _ in a.events("misbehaviour")))
    assert a.call("getblockcount") == 3
    for n in (a, b):
        assert n.stop() == 0


if __name__ == "__main__":
    run([test_line_relay, test_push_relay, test_late_joiner_syncs, test_reorg_and_bans], sys.argv)
