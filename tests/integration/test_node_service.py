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


def pow_ok(header, target):
    import hashlib
    h = hashlib.sha256(hashlib.sha256(bytes(header)).digest()).digest()
    return int.from_bytes(h, "little") <= target, h[::-1].hex()


def mine_external(n, address=None, want=True):
    """An external miner: template, nonce search in Python (want=False finds
    a nonce that misses the target), for submitblock."""
    import struct
    t = n.call("getblocktemplate", address) if address else n.call("getblocktemplate")
    block = bytearray.fromhex(t["block"])
    off = t["nonce_offset"]
    assert block[:88].hex() == t["header"]
    target = int(t["target"], 16)
    for nonce in range(1 << 22):
        struct.pack_into("<Q", block, off, nonce)
        ok, bhash = pow_ok(block[:88], target)
        if ok == want:
            return t, bytes(block), bhash
    raise AssertionError("no nonce found")


def test_external_miner(env):
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    wait_for("peers", lambda: a.call("getconnectioncount") == 1)
    a.call("generate", 1)   # funds the node key
    txid = a.call("sendtoaddress", "22" * 32, 5000)
    wait_for("tx at b", lambda: txid in b.call("getrawmempool"))
    t, block, bhash = mine_external(a, "33" * 32)
    assert t["height"] == 2 and [x["txid"] for x in t["transactions"]] == [txid], t
    assert t["coinbasevalue"] > 0
    # a block that misses the target is refused with the reason
    _, bad, _ = mine_external(a, "33" * 32, want=False)
    assert a.call("submitblock", bad.hex()) == "high-hash"
    assert a.call("submitblock", block.hex()) is None
    assert a.call("getbestblockhash") == bhash
    assert a.call("submitblock", block.hex()) == "duplicate"
    wait_for("b has the mined block", lambda: b.call("getbestblockhash") == bhash)
    assert a.call("getaccount", "33" * 32)["balance"] == t["coinbasevalue"]
    assert txid not in b.call("getrawmempool")
    ev = [e for e in a.events("block_submitted") if e["hash"] == bhash]
    assert ev and ev[0]["result"] == "ok", ev
    try:
        a.call("submitblock", "zz")
        raise AssertionError("bad hex accepted")
    except RPCError as e:
        assert e.code == -22
    a.stop()
    b.stop()


def test_long_polls(env):
    import threading
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    wait_for("peers", lambda: a.call("getconnectioncount") == 1)
    got = {}

    def waiter(key, method, *params):
        t0 = time.monotonic()
        got[key] = (a.call(method, *params, timeout=120), time.monotonic() - t0)

    th = [threading.Thread(target=waiter, args=("new", "waitfornewblock", 60000)),
          threading.Thread(target=waiter, args=("h3", "waitforblockheight", 3))]
    for t in th:
        t.start()
    time.sleep(1.0)
    assert not got, got   # nothing happened yet: they wait
    # the block comes from a peer, not from a's own RPC
    first = b.call("generate", 1)[0]
    th[0].join(30)
    assert got["new"][0] == {"hash": first, "height": 1}, got
    assert "h3" not in got
    hashes = b.call("generate", 2)
    th[1].join(30)
    assert got["h3"][0]["height"] == 3 and got["h3"][0]["hash"] == hashes[-1], got
    wait_for("a at 3", lambda: a.call("getblockcount") == 3)
    # already true: answered at once
    assert a.call("waitforblock", hashes[-1], 1000)["height"] == 3
    assert a.call("waitforblockheight", 2)["height"] == 3
    # a timeout answers the tip as it is
    t0 = time.monotonic()
    assert a.call("waitforblockheight", 100, 300) == {"hash": hashes[-1], "height": 3}
    assert time.monotonic() - t0 >= 0.29
    # in a batch nothing waits
    st, resp = a.raw('[{"jsonrpc":"2.0","id":1,"method":"waitfornewblock","params":[]}]')
    assert st == 200 and resp[0]["result"]["height"] == 3, resp
    # a client that leaves while waiting frees its slot (no waiter left behind)
    import socket
    s = socket.create_connection(("127.0.0.1", a.rpc_port), timeout=10)
    body = b'{"jsonrpc":"2.0","id":1,"method":"waitfornewblock","params":[]}'
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + a.auth().encode() +
              b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.3)
    s.close()
    b.call("generate", 1)
    wait_for("a at 4", lambda: a.call("getblockcount") == 4)
    # getchaintips: one active tip
    tips = a.call("getchaintips")
    assert tips[0]["status"] == "active" and tips[0]["height"] == 4, tips
    info = a.call("getblockchaininfo")
    assert info["headers"] == 4, info
    assert a.stop() == 0
    b.stop()


def test_rpc_slowloris(env):
    """64 slowloris connections, reconnecting as fast as they are cut, while
    gossip-cli keeps answering."""
    import socket
    import threading
    n = env.node("a", "--connect=0").start()
    stop = threading.Event()
    stats = {"connects": 0, "cut": 0}

    def loris():
        s = None
        while not stop.is_set():
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=5)
                    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
                    stats["connects"] += 1
                s.sendall(b"X-a: b\r\n")
                time.sleep(0.1)
            except OSError:
                stats["cut"] += 1
                if s:
                    s.close()
                s = None
        if s:
            s.close()

    threads = [threading.Thread(target=loris) for _ in range(64)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        worst = 0
        for _ in range(20):
            t0 = time.monotonic()
            assert n.cli("getblockcount") == "0"
            worst = max(worst, time.monotonic() - t0)
        sys.stderr.write("slowloris: %d connects, %d cut, worst gossip-cli call %.3fs\n"
                         % (stats["connects"], stats["cut"], worst))
        assert stats["cut"] > 0
    finally:
        stop.set()
        for t in threads:
            t.join(20)
    n.stop()


def test_rpc_auth_pacing(env):
    """Wrong passwords are answered late, 250 ms apart per IP whatever the
    number of connections, logged with the address; the right one is not slowed."""
    import base64
    import socket
    n = env.node("a", "--connect=0", rpc_user="alice", rpc_password="s3cret").start()
    bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
    body = b'{"method":"getblockcount"}'
    req = (b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + bad.encode() +
           b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    def guesses(k):
        """k wrong guesses on k connections at once; (answers, seconds to the last)."""
        socks = []
        t0 = time.monotonic()
        for _ in range(k):
            s = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=30)
            s.sendall(req)
            socks.append(s)
            time.sleep(0.02)   # read before the next connects (9+ new ones evict the oldest)
        answers = []
        for s in socks:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            answers.append(data.split(b"\r\n")[0])
            s.close()
        return answers, time.monotonic() - t0

    answers, elapsed = guesses(12)
    assert answers == [b"HTTP/1.1 401 Unauthorized"] * 12, answers
    assert elapsed >= 12 * 0.25 - 0.05, elapsed   # paced, not parallel
    # past the 5 s backlog a guess is cut without an answer; meanwhile the
    # right password is served at once
    socks = []
    for _ in range(30):
        s = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=30)
        s.sendall(req)
        socks.append(s)
        time.sleep(0.02)
    t1 = time.monotonic()
    assert n.call("getblockcount") == 0
    assert time.monotonic() - t1 < 1.0
    answered = 0
    for s in socks:
        try:
            answered += s.recv(4096).startswith(b"HTTP/1.1 401")
        except OSError:
            pass
        s.close()
    assert answered <= 24, answered   # 20 in the backlog, ~3 released while sending
    evs = n.events("rpc_auth_failed")
    assert len(evs) == 42 and all(e["addr"].startswith("127.0.0.1:") for e in evs), evs[:3]
    assert sum(1 for e in evs if not e["answered"]) == 30 - answered
    n.stop()

def scrape(n):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", n.rpc_port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    assert r.status == 200, r.status
    return text


def metric(text, name):
    """Value of the sample line starting with name (name includes labels)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no sample %s" % name)


def test_metrics_promtool(env):
    """/metrics of a live node with traffic passes `promtool check metrics`
    and carries the operator's first graphs."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing (Debian package prometheus, tools/deps)"
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    wait_for("peers", lambda: a.call("getconnectioncount") == 1)
    a.call("generate", 2)
    txid = a.call("sendtoaddress", "22" * 32, 5000)
    raw = a.call("getrawtransaction", txid)
    wait_for("tx at b", lambda: txid in b.call("getrawmempool"))
    b.call("generate", 1)
    wait_for("a at 3", lambda: a.call("getblockcount") == 3)
    # the same tx again: rejected, counted by reason
    try:
        a.call("sendrawtransaction", raw)
        raise AssertionError("a mined tx was accepted again")
    except RPCError:
        pass
    # an isolated node with a longer chain: a reorganises 3 blocks deep
    c = env.node("c", "--connect=0").start()
    c.call("generate", 5)
    ctip = c.call("getbestblockhash")
    c.call("addnode", "127.0.0.1:%d" % a.port, "add")
    wait_for("a on c's chain", lambda: a.call("getbestblockhash") == ctip, timeout=60)
    text = scrape(a)
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, "promtool: " + p.stdout + p.stderr
    assert metric(text, 'gossipd_block_first_seen_delay_seconds_count{source="mined"}') == 2
    assert metric(text, 'gossipd_block_first_seen_delay_seconds_count{source="peer"}') == 6
    assert metric(text, 'gossipd_tx_first_seen_delay_seconds_count{source="rpc"}') == 1
    assert metric(text, "gossipd_header_height") == 5
    assert 0 <= metric(text, "gossipd_tip_age_seconds") < 600
    assert metric(text, "gossipd_reorgs_total") == 1
    assert metric(text, "gossipd_reorg_depth_blocks_sum") == 3
    assert metric(text, 'gossipd_reorg_depth_blocks_bucket{le="2"}') == 0
    assert metric(text, 'gossipd_reorg_depth_blocks_bucket{le="3"}') == 1
    assert 'gossipd_rejects_total{kind="tx",reason="' in text, text
    assert metric(text, "process_resident_memory_bytes") > 1e6
    assert metric(text, "process_open_fds") >= 5
    assert metric(text, "process_cpu_seconds_total") > 0
    assert abs(metric(text, "process_start_time_seconds") - time.time()) < 600
    tb = scrape(b)
    assert metric(tb, 'gossipd_tx_first_seen_delay_seconds_count{source="peer"}') == 1
    c.stop()
    assert 'gossipd_build_info{version="' in text
    a.stop()
    b.stop()


def test_zmq_and_blocknotify(env):
    """A real python3-zmq subscriber receives every block and tx of a 3-node
    run from the far node, framed as bitcoind frames them; -blocknotify runs
    once per tip with the hash."""
    import hashlib
    import json as _json
    from harness import free_port
    ep1 = "tcp://127.0.0.1:%d" % free_port()
    ep2 = "tcp://127.0.0.1:%d" % free_port()
    notified = os.path.join(env.tmp, "notified.txt")
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    c = env.node("c", "--connect=127.0.0.1:%d" % b.port,
                 "--zmqpubhashblock=" + ep1, "--zmqpubrawblock=" + ep1,
                 "--zmqpubsequence=" + ep1, "--zmqpubhashtx=" + ep2, "--zmqpubrawtx=" + ep2,
                 "--blocknotify=echo %s >> " + notified).start()
    wait_for("line a-b-c", lambda: b.call("getconnectioncount") == 2)
    out_path = os.path.join(env.tmp, "zmq.out")
    outf = open(out_path, "w")
    sub = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "zmq_sub.py"), "120", ep1, ep2], stdout=outf,
        stderr=subprocess.STDOUT)
    env.procs.append(sub)

    def msgs():
        with open(out_path) as f:
            return [_json.loads(line) for line in f if line.strip()]

    try:
        wait_for("subscriber up", lambda: any(m.get("ready") for m in msgs()))
        # ZMQ's slow joiner: blocks until the subscriber has seen one
        warm = []

        def seen_block():
            warm.append(a.call("generate", 1)[0])
            time.sleep(0.3)
            return any(m.get("topic") == "hashblock" for m in msgs())
        wait_for("first hashblock", seen_block, timeout=60, interval=0.1)
        first_seen = next(m["body"] for m in msgs() if m.get("topic") == "hashblock")
        start_height = [h for h in range(len(warm) + 1)
                        if c.call("getblockhash", h) == first_seen][0]
        def synced():
            wait_for("same tip", lambda: len({n.call("getbestblockhash")
                                               for n in (a, b, c)}) == 1, timeout=60)

        # the run: txs from a and b, blocks by all three (each on the common
        # tip: a fork could take b's funds away, and its tx with them)
        synced()
        b.call("generate", 1)
        synced()
        txids = []
        for i in range(6):
            src = (a, b)[i % 2]
            txids.append(src.call("sendtoaddress", "44" * 32, 1000 + i))
            if i % 2:
                wait_for("txs everywhere", lambda: all(
                    t in n.call("getrawmempool") for t in txids[-2:] for n in (a, b, c)))
                (a, b, c)[i % 3].call("generate", 1)
                synced()
        wait_for("txs at c", lambda: all(t in c.call("getrawmempool") or
                                         c.call("getrawtransaction", t, True).get("blockhash")
                                         for t in txids), timeout=60)
        c.call("generate", 1)
        tip = c.call("getbestblockhash")
        wait_for("a at c's tip", lambda: a.call("getbestblockhash") == tip, timeout=60)
        height = c.call("getblockcount")
        blocks = [c.call("getblockhash", h) for h in range(start_height, height + 1)]
        in_blocks = set()
        for h in blocks:
            in_blocks.update(c.call("getblock", h)["tx"])

        def complete():
            m = msgs()
            got = {x["body"] for x in m if x.get("topic") == "hashblock"}
            return set(blocks) <= got
        wait_for("every block published", complete, timeout=30)
        time.sleep(0.5)
        m = [x for x in msgs() if "topic" in x]
        assert all(x["parts"] == 3 and x["seqlen"] == 4 for x in m), m[:3]
        by = {}
        for x in m:
            by.setdefault(x["topic"], []).append(x)
        # per topic, the 4-byte LE counter has no gap
        for t, xs in by.items():
            seqs = [x["seq"] for x in xs]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (t, seqs)
        assert [x["body"] for x in by["hashblock"]][-len(blocks):] == blocks
        # rawblock: the header's SHA256d is the hash
        raw_hashes = [hashlib.sha256(hashlib.sha256(bytes.fromhex(x["body"][:176])).digest())
                      .digest()[::-1].hex() for x in by["rawblock"]]
        assert set(blocks) <= set(raw_hashes)
        hashtx = {x["body"] for x in by["hashtx"]}
        assert set(txids) <= hashtx and in_blocks <= hashtx, (set(txids) - hashtx,
                                                             in_blocks - hashtx)
        rawtx = {hashlib.sha256(hashlib.sha256(bytes.fromhex(x["body"])).digest())
                 .digest()[::-1].hex() for x in by["rawtx"]}
        assert len(by["rawtx"]) == len(by["hashtx"])
        assert all(x["ep"] == ep2 for x in by["hashtx"] + by["rawtx"])
        seq = by["sequence"]
        conn = [x["body"][:64] for x in seq if x["body"][64:66] == "43"]   # 'C'
        assert set(blocks) <= set(conn)
        adds = [x for x in seq if x["body"][64:66] == "41"]                # 'A'
        # a tx c first saw inside a block has no 'A' (as bitcoind): each 'A' is
        # one of the run's txs, and hashtx above has them all
        assert adds and {x["body"][:64] for x in adds} <= set(txids)
        mseq = [int.from_bytes(bytes.fromhex(x["body"][66:]), "little") for x in adds]
        assert mseq == sorted(mseq) and len(set(mseq)) == len(mseq)
        # every tx of the run was confirmed: none left the mempool otherwise
        assert not [x for x in seq if x["body"][64:66] == "52"], seq                # 'R'
        assert set(txids) <= rawtx
        # -blocknotify: one line per tip change, the hash for %s
        connected = [e["hash"] for e in c.events("block_connected")]
        wait_for("blocknotify ran for each tip", lambda: os.path.exists(notified) and
                 len(open(notified).read().split()) == len(connected), timeout=30)
        assert sorted(open(notified).read().split()) == sorted(connected)
    finally:
        sub.kill()
        sub.wait()
        outf.close()
    assert c.stop() == 0
    b.stop()
    a.stop()


def zmq_subscriber(env, *endpoints):
    """Start zmq_sub.py on endpoints; returns (process, file, msgs())."""
    import json as _json
    out_path = os.path.join(env.tmp, "zmq-%d.out" % len(env.procs))
    outf = open(out_path, "w")
    sub = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "zmq_sub.py"), "120"] + list(endpoints), stdout=outf,
        stderr=subprocess.STDOUT)
    env.procs.append(sub)

    def msgs():
        with open(out_path) as f:
            return [_json.loads(line) for line in f if line.strip()]
    wait_for("subscriber up", lambda: any(m.get("ready") for m in msgs()))
    return sub, outf, msgs


def test_zmq_sequence_removed(env):
    """sequence 'R': a tx in a's mempool (published 'A') that a block mined on
    b conflicts with (same sender and nonce, another tx) leaves a's mempool
    when a syncs b's chain: 'R' with the next mempool sequence, after 'A'."""
    from harness import free_port
    ep = "tcp://127.0.0.1:%d" % free_port()
    a = env.node("a", "--connect=0", "--debug=mempool", "--zmqpubsequence=" + ep).start()
    b = env.node("b", "--connect=0").start()
    sub, outf, msgs = zmq_subscriber(env, ep)

    def seq_msgs(label):
        return [x for x in msgs() if x.get("topic") == "sequence" and
                x["body"][64:66] == label.encode().hex()]
    try:
        # ZMQ's slow joiner: blocks on a until the subscriber has seen one
        warm = []

        def seen_block():
            warm.append(a.call("generate", 1)[0])
            time.sleep(0.3)
            return bool(seq_msgs("C"))
        wait_for("first 'C'", seen_block, timeout=60, interval=0.1)
        dev = os.path.join(env.tmp, "dev.key")
        a.cli("devkey", dev)
        devaddr = a.cli("address", dev)
        nonce = a.call("getaccount", devaddr)["next_nonce"]
        t1 = a.cli("tx", dev, "55" * 32, "1000", "1000", str(nonce))
        t2 = a.cli("tx", dev, "66" * 32, "2000", "1000", str(nonce))
        txid1 = a.call("sendrawtransaction", t1)
        txid2 = b.call("sendrawtransaction", t2)
        assert txid1 != txid2
        wait_for("'A' for the tx", lambda: [x for x in seq_msgs("A")
                                            if x["body"][:64] == txid1])
        # b's chain outgrows a's, its first block confirming the conflicting tx
        b.call("generate", len(warm) + 1)
        assert txid2 in b.call("getblock", b.call("getblockhash", 1))["tx"]
        a.call("addnode", "127.0.0.1:%d" % b.port, "onetry")
        tip = b.call("getbestblockhash")
        wait_for("a on b's chain", lambda: a.call("getbestblockhash") == tip, timeout=60)
        removed = wait_for("'R' for the tx", lambda: [x for x in seq_msgs("R")
                                                      if x["body"][:64] == txid1], timeout=30)
        assert len(removed) == 1, removed
        added = [x for x in seq_msgs("A") if x["body"][:64] == txid1]
        assert len(added) == 1, added

        def mseq(x):
            return int.from_bytes(bytes.fromhex(x["body"][66:]), "little")
        assert len(removed[0]["body"]) == 2 * (32 + 1 + 8), removed
        assert mseq(removed[0]) > mseq(added[0]), (added, removed)
        assert txid1 not in a.call("getrawmempool")
        # a reorged to b's chain: the log names the reason
        assert [e["reason"] for e in a.events("tx_removed") if e["txid"] == txid1] == \
            ["conflict"], a.events("tx_removed")
        # the confirmed tx has no 'R' (it never was in a's mempool either)
        assert not [x for x in seq_msgs("R") if x["body"][:64] == txid2]
    finally:
        sub.kill()
        sub.wait()
        outf.close()
    assert a.stop() == 0
    b.stop()


def test_ping_microseconds(env):
    """getpeerinfo's pingtime is seconds with µs (the ms clock read 0 here)."""
    a = env.node("a", "--connect=0").start()
    b = env.node("b", "--connect=127.0.0.1:%d" % a.port).start()
    peer = wait_for("a pong", lambda: [p for p in b.call("getpeerinfo") if "pingtime" in p],
                    timeout=60, interval=0.5)[0]
    assert 0 < peer["pingtime"] < 1.0, peer
    assert 0 < peer["minping"] <= peer["pingtime"], peer
    assert peer["ping_ms"] >= 0
    a.stop()
    b.stop()


TESTS = [
    test_store_corruption_reindex,
    test_store_missing_tip_body,
    test_checkblocks_catches_a_tampered_ledger,
    test_external_miner,
    test_long_polls,
    test_rpc_slowloris,
    test_rpc_auth_pacing,
    test_metrics_promtool,
    test_zmq_and_blocknotify,
    test_zmq_sequence_removed,
    test_ping_microseconds,
]

if __name__ == "__main__":
    run(TESTS, sys.argv)
