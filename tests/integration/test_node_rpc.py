#!/usr/bin/env python3
"""gossipd integration: one node over JSON-RPC and gossip-cli.

usage: test_node_rpc.py GOSSIPD GOSSIP-CLI [TEST ...]
"""
import http.client
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RPCError, run, wait_for  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")
COIN = 100000000


def expect_rpc_error(code, fn, *args):
    try:
        fn(*args)
    except RPCError as e:
        assert e.code == code, "expected error %d, got %d (%s)" % (code, e.code, e.message)
        return e
    raise AssertionError("expected RPC error %d from %r" % (code, args))


def devkey(env, node):
    path = os.path.join(env.tmp, "dev.key")
    if not os.path.exists(path):
        node.cli("devkey", path)
    return path, node.cli("address", path)


def test_every_method(env):
    n = env.node("a").start()
    # control
    listing = n.call("help")
    assert "getblock \"blockhash\" ( verbosity )" in listing
    assert n.call("help", "getblock").startswith("getblock \"blockhash\"")
    assert n.cli("help", "getblock").startswith("getblock \"blockhash\"")
    assert n.call("uptime") >= 0
    # chain at genesis
    info = n.call("getblockchaininfo")
    assert info["chain"] == "regtest" and info["blocks"] == 0, info
    assert n.call("getblockcount") == 0
    genesis = n.call("getblockhash", 0)
    assert n.call("getbestblockhash") == genesis == info["bestblockhash"]
    # the node key
    addr = n.call("getnewaddress")
    assert HEX64.match(addr)
    dump = n.call("dumpaddress")
    assert dump["address"] == addr and HEX64.match(dump["seed"])
    # the development key owns the genesis allocation
    key, dev = devkey(env, n)
    acct = n.call("getaccount", dev)
    assert acct["balance"] > 0 and acct["nonce"] == 0 and acct["next_nonce"] == 0, acct
    # a tx with gossip-cli tx + sendrawtransaction
    txhex = n.cli("tx", key, addr, str(5 * COIN), "1000", "0", "hello")
    txid = n.call("sendrawtransaction", txhex)
    assert HEX64.match(txid)
    assert n.call("sendrawtransaction", txhex) == txid   # already known: same answer
    assert n.call("getrawmempool") == [txid]
    verbose = n.call("getrawmempool", True)
    assert verbose[txid]["amount"] == 5 * COIN and verbose[txid]["from"] == dev
    assert n.call("getmempoolentry", txid)["fee"] == 1000
    mi = n.call("getmempoolinfo")
    assert mi["size"] == 1 and mi["bytes"] > 0, mi
    assert n.call("getrawtransaction", txid) == txhex
    rt = n.call("getrawtransaction", txid, True)
    assert rt["txid"] == txid and rt["confirmations"] == 0 and rt["memo"] == b"hello".hex()
    assert n.call("getaccount", dev)["next_nonce"] == 1
    # gossip-cli send fetches the nonce itself
    txid2 = n.cli("send", key, addr, str(COIN))
    assert HEX64.match(txid2) and len(n.call("getrawmempool")) == 2
    # mining (regtest)
    hashes = n.call("generate", 1)
    assert len(hashes) == 1 and n.call("getblockcount") == 1
    blk = hashes[0]
    assert n.call("getbestblockhash") == blk
    b1 = n.call("getblock", blk)
    assert b1["height"] == 1 and b1["nTx"] == 3 and txid in b1["tx"], b1
    assert b1["previousblockhash"] == genesis and b1["confirmations"] == 1
    b2 = n.call("getblock", blk, 2)
    assert b2["tx"][0]["coinbase"] and b2["tx"][1]["txid"] in (txid, txid2)
    raw = n.call("getblock", blk, 0)
    assert re.match(r"^[0-9a-f]+$", raw) and len(raw) == 2 * b1["size"]
    hdr = n.call("getblockheader", blk)
    assert hdr["hash"] == blk and hdr["have_block"] and hdr["merkleroot"] == b1["merkleroot"]
    assert len(n.call("getblockheader", blk, False)) == 176
    assert n.call("getblock", genesis)["nextblockhash"] == blk
    assert n.call("getrawmempool") == []
    rt = n.call("getrawtransaction", txid, True)
    assert rt["blockhash"] == blk and rt["confirmations"] == 1, rt
    assert n.call("getrawtransaction", txid, False, blk) == txhex
    bal = n.call("getaccount", addr)["balance"]
    assert bal >= 6 * COIN, bal
    # sendtoaddress spends the node key's coins
    stx = n.call("sendtoaddress", dev, 2 * COIN)
    assert n.call("getmempoolentry", stx)["from"] == addr
    other = "11" * 32
    hashes = n.call("generatetoaddress", 2, other)
    assert len(hashes) == 2 and n.call("getblockcount") == 3
    assert n.call("getaccount", other)["balance"] > 0
    assert n.call("getrawmempool") == []
    mining = n.call("getmininginfo")
    assert mining["blocks"] == 3 and mining["chain"] == "regtest" and not mining["mining"]
    assert mining["blocks_mined"] == 3
    # templates, tips and long polls (tests/integration/test_node_ops.py mines
    # through them and waits for real)
    tmpl = n.call("getblocktemplate")
    assert tmpl["height"] == 4 and len(tmpl["header"]) == 176, tmpl
    expect_rpc_error(-22, n.call, "submitblock", "00")
    tips = n.call("getchaintips")
    assert tips[0]["status"] == "active" and tips[0]["height"] == 3, tips
    tip = n.call("getbestblockhash")
    assert n.call("waitforblockheight", 3) == {"hash": tip, "height": 3}
    assert n.call("waitforblock", tip) == {"hash": tip, "height": 3}
    assert n.call("waitfornewblock", 50) == {"hash": tip, "height": 3}
    # propagation records
    p = n.call("getpropagation", txid)
    assert p["type"] == "tx" and p["source"] == "rpc" and p["first_seen_ms"] > 0, p
    p = n.call("getpropagation", blk)
    assert p["type"] == "block" and p["source"] == "mined" and p["height"] == 1, p
    expect_rpc_error(-5, n.call, "getpropagation", "22" * 32)
    # network
    ni = n.call("getnetworkinfo")
    assert ni["connections"] == 0 and "(a)" in ni["subversion"] and ni["port"] == n.port, ni
    assert n.call("getpeerinfo") == [] and n.call("getconnectioncount") == 0
    spare = "127.0.0.1:%d" % n.port
    assert n.call("addnode", "127.0.0.1:1", "add") is None
    expect_rpc_error(-23, n.call, "addnode", "127.0.0.1:1", "add")
    assert n.call("addnode", "127.0.0.1:1", "remove") is None
    expect_rpc_error(-24, n.call, "addnode", "127.0.0.1:1", "remove")
    assert n.call("addnode", "127.0.0.1:1", "onetry") is None
    expect_rpc_error(-29, n.call, "disconnectnode", spare)
    expect_rpc_error(-29, n.call, "disconnectnode", "", 12345)
    assert n.call("setban", "192.0.2.7", "add", 3600) is None
    expect_rpc_error(-23, n.call, "setban", "192.0.2.7", "add")
    bans = n.call("listbanned")
    assert len(bans) == 1 and bans[0]["address"] == "192.0.2.7", bans
    assert 3500 <= bans[0]["time_remaining"] <= 3600
    assert n.call("setban", "192.0.2.7", "remove") is None
    assert n.call("listbanned") == []
    n.call("setban", "192.0.2.8", "add")
    assert n.call("clearbanned") is None and n.call("listbanned") == []
    # metrics
    c = http.client.HTTPConnection("127.0.0.1", n.rpc_port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    assert r.status == 200, r.status
    assert "\ngossipd_height 3\n" in text, text[:400]
    assert 'gossipd_peers{direction="inbound"} 0' in text
    assert "gossipd_mempool_bytes 0" in text and "gossipd_bans_total" in text
    assert "\ngossipd_orphan_blocks 0\n" in text
    assert 'gossipd_messages_total{direction="in",command="inv"}' in text
    assert isinstance(n.call("getnodeaddresses", 0), list)   # test_node_durability fills it
    # every method the node lists was called above (the relay test adds the
    # happy paths that need peers: getpeerinfo with peers, disconnectnode)
    listed = {line.split()[0] for line in listing.splitlines()}
    missing = listed - env.called - {"stop"}
    assert not missing, "methods not exercised: %s" % sorted(missing)
    # stop
    assert n.call("stop") == "gossipd stopping"
    assert n.proc.wait(timeout=20) == 0
    assert not os.path.exists(os.path.join(n.datadir, ".cookie"))
    evs = [e["event"] for e in n.events()]
    for ev in ("node_start", "tx_accepted", "block_mined", "block_connected", "node_stop"):
        assert ev in evs, (ev, evs)
    n.stop()


def test_errors(env):
    n = env.node("a").start()
    st, r = n.raw("{\"method\":")
    assert st == 200 and r["error"]["code"] == -32700, r
    st, r = n.raw(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "nosuch"}))
    assert r["error"]["code"] == -32601 and r["id"] == 1
    expect_rpc_error(-32602, n.call, "getblockhash", "x")
    expect_rpc_error(-32602, n.call, "getblockhash")
    expect_rpc_error(-32602, n.call, "getblockcount", 1)
    expect_rpc_error(-8, n.call, "getblockhash", 99)
    expect_rpc_error(-5, n.call, "getblock", "00" * 32)
    expect_rpc_error(-8, n.call, "getblock", "zz")
    expect_rpc_error(-22, n.call, "sendrawtransaction", "00ff")
    expect_rpc_error(-5, n.call, "getaccount", "nothex")
    # a signature that does not verify: -26 with the reason
    key, dev = devkey(env, n)
    txhex = n.cli("tx", key, "33" * 32, "100", "1000", "0")
    bad = txhex[:-2] + ("00" if txhex[-2:] != "00" else "01")
    e = expect_rpc_error(-26, n.call, "sendrawtransaction", bad)
    assert e.message == "tx-bad-signature", e.message
    # a nonce from the future is held, a used one rejected
    n.call("sendrawtransaction", txhex)
    n.call("generate", 1)
    e = expect_rpc_error(-25, n.call, "sendrawtransaction",
                         n.cli("tx", key, "33" * 32, "100", "2000", "0"))
    assert e.message == "tx-nonce-already-used", e.message
    # batch
    st, r = n.raw(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "getblockcount"},
                              {"jsonrpc": "2.0", "id": 2, "method": "nosuch"},
                              {"jsonrpc": "2.0", "method": "getblockcount"}]))
    assert st == 200 and len(r) == 2 and r[0]["result"] == 1, r
    assert r[1]["error"]["code"] == -32601
    # wrong password
    st, r = n.raw("{}", headers={"Authorization": "Basic X19jb29raWVfXzp3cm9uZw=="})
    assert st == 401, st
    st, r = n.raw("{}", headers={"Authorization": ""})
    assert st == 401, st
    p = n.cli("getblockcount", check=False)
    assert p.returncode == 0
    # oversize body: refused from its Content-Length, before it is sent
    s = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=10)
    s.sendall(("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n"
               % (n.auth(), 2 * 1024 * 1024)).encode())
    resp = s.recv(4096).decode()
    assert resp.startswith("HTTP/1.1 413"), resp
    s.close()
    # oversize body sent chunked
    s = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=10)
    s.sendall(("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" % n.auth()).encode())
    chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
    try:
        for _ in range(3):
            s.sendall(chunk)
    except OSError:
        pass   # the server may close as soon as it has answered
    resp = s.recv(4096).decode()
    assert resp.startswith("HTTP/1.1 413"), resp
    s.close()
    # a request split across many TCP writes
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "getblockcount"})
    req = ("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n%s"
           % (n.auth(), len(body), body)).encode()
    s = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(req), 3):
        s.sendall(req[i:i + 3])
        time.sleep(0.002)
    resp = b""
    while b"\"id\":7" not in resp:
        d = s.recv(4096)
        assert d, resp
        resp += d
    assert resp.startswith(b"HTTP/1.1 200") and b"\"result\":1" in resp, resp
    # a client that half-closes after its request still gets the whole answer
    h = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=10)
    hb = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "help"})
    h.sendall(("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n%s"
               % (n.auth(), len(hb), hb)).encode())
    h.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = h.recv(65536)
        if not d:
            break
        got += d
    h.close()
    assert got.startswith(b"HTTP/1.1 200") and got.rstrip().endswith(b"\"id\":9}"), got[-80:]
    # the same connection serves a second request (keep-alive)
    s.sendall(req.replace(b"\"id\": 7", b"\"id\": 8"))
    resp = b""
    while b"\"id\":8" not in resp:
        d = s.recv(4096)
        assert d, resp
        resp += d
    s.close()
    n.stop()


def test_slow_client(env):
    """A client that never finishes its request does not stall another."""
    n = env.node("a").start()
    slow = socket.create_connection(("127.0.0.1", n.rpc_port), timeout=30)
    slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"meth")
    hogs = [socket.create_connection(("127.0.0.1", n.rpc_port), timeout=30) for _ in range(5)]
    for h in hogs:
        h.sendall(b"POST / HT")
    t0 = time.monotonic()
    for _ in range(20):
        assert n.call("getblockcount", timeout=5) == 0
    assert time.monotonic() - t0 < 5
    # the slow client is answered 408 and closed after the request timeout
    slow.settimeout(20)
    resp = slow.recv(4096)
    assert resp.startswith(b"HTTP/1.1 408"), resp
    assert time.monotonic() - t0 < 15
    for h in hogs:
        h.close()
    slow.close()
    assert n.call("getblockcount") == 0
    # 64 idle connections without credentials hold at most 8 slots (the
    # newest 8): the rest are evicted, and a client with credentials is served
    held = [socket.create_connection(("127.0.0.1", n.rpc_port), timeout=10) for _ in range(64)]
    assert n.call("getblockcount", timeout=5) == 0
    for h in held:
        h.close()
    wait_for("a connection slot again", lambda: n.call("getblockcount", timeout=5) == 0)
    n.stop()


def test_restart_keeps_chain(env):
    n = env.node("a").start()
    key, dev = devkey(env, n)
    addr = n.call("getnewaddress")
    n.call("generate", 3)
    txid = n.cli("send", key, addr, str(7 * COIN))
    n.call("generate", 1)
    tip = n.call("getbestblockhash")
    # two txs left in the mempool survive the clean restart
    pend1 = n.cli("send", key, addr, str(COIN))
    pend2 = n.cli("send", key, addr, str(COIN))
    acct_dev = n.call("getaccount", dev)
    acct_node = n.call("getaccount", addr)
    assert acct_dev["nonce"] == 1 and acct_dev["next_nonce"] == 3
    assert n.stop() == 0
    assert n.events("mempool_saved")[-1]["txs"] == 2
    n.start()
    assert sorted(n.call("getrawmempool")) == sorted([pend1, pend2])
    assert n.events("mempool_loaded")[-1]["txs"] == 2
    assert n.call("getblockcount") == 4
    assert n.call("getbestblockhash") == tip
    assert n.call("getaccount", dev) == acct_dev
    assert n.call("getaccount", addr) == acct_node
    assert n.call("getnewaddress") == addr          # the node key persists
    assert n.call("getrawtransaction", txid, True)["confirmations"] == 1
    n.call("generate", 1)
    assert n.call("getblockcount") == 5 and n.call("getrawmempool") == []
    # SIGINT also shuts down cleanly
    n.proc.send_signal(2)
    assert n.proc.wait(timeout=20) == 0
    assert n.events("node_stop")
    n.stop()


def test_kill9_keeps_committed_blocks(env):
    """kill -9 loses nothing committed: the restarted node has every block."""
    n = env.node("a").start()
    hashes = n.call("generate", 5)
    n.proc.kill()
    n.proc.wait(timeout=10)
    n.logf.close()
    n.proc = None
    n.start()   # a stale .cookie from the killed process is replaced
    assert n.call("getblockcount") == 5
    assert n.call("getbestblockhash") == hashes[-1]
    assert n.call("generate", 1) and n.call("getblockcount") == 6
    assert n.stop() == 0


def test_user_password(env):
    n = env.node("a", rpc_user="alice", rpc_password="s3cret").start()
    assert not os.path.exists(os.path.join(n.datadir, ".cookie"))
    assert n.call("getblockcount") == 0
    assert n.cli("getblockcount") == "0"
    n.rpc_password = "wrong"
    st, _ = n.raw("{}")
    assert st == 401
    p = n.cli("getblockcount", check=False)
    assert p.returncode != 0 and "authorization failed" in p.stderr, p.stderr
    n.stop()


def test_flags(env):
    import subprocess
    out = subprocess.run([env.gossipd, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "--tx-batch-ms" in out.stdout
    out = subprocess.run([env.gossipd, "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("gossipd 0.1.0")
    out = subprocess.run([env.gossipd, "--bogus"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2 and "unknown option" in out.stderr
    # environment variables configure the node like flags
    n = env.node("envnode")
    e = dict(os.environ, GOSSIPD_NAME="fromenv", GOSSIPD_LOG_JSON="1")
    args = [a for a in n.args() if not a.startswith("--name") and a != "--log-json"]
    n.logf = open(n.log_path, "ab")
    n.proc = subprocess.Popen(args, stdout=n.logf, stderr=n.logf, env=e)
    env.procs.append(n.proc)
    wait_for("env node", lambda: n.call("getblockcount") == 0)
    assert n.call("getnetworkinfo")["name"] == "fromenv"
    start = n.events("node_start")
    assert start and start[0]["node"] == "fromenv" and start[0]["rpc_port"] == n.rpc_port
    n.stop()


def test_rpc_doc(env):
    """docs/RPC.md holds exactly what `gossipd --rpc-doc` prints."""
    import subprocess
    out = subprocess.run([env.gossipd, "--rpc-doc"], capture_output=True, text=True,
                         timeout=10).stdout
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "RPC.md")) as f:
        doc = f.read()
    begin = "<!-- BEGIN METHODS: generated by `gossipd --rpc-doc`; do not edit -->\n"
    end = "<!-- END METHODS -->"
    assert begin in doc and end in doc
    section = doc[doc.index(begin) + len(begin):doc.index(end)]
    if section.strip() != out.strip():
        raise AssertionError("docs/RPC.md is stale: regenerate its methods section with "
                             "`gossipd --rpc-doc`")


def test_testnet_mining(env):
    """--mine on testnet mines on a worker thread and stops cleanly mid-job."""
    n = env.node("m", "--connect=0", "--mine")
    args = [a if a != "--network=regtest" else "--network=testnet" for a in n.args()]
    import subprocess
    n.logf = open(n.log_path, "ab")
    n.proc = subprocess.Popen(args, stdout=n.logf, stderr=n.logf)
    env.procs.append(n.proc)
    wait_for("3 blocks mined", lambda: n.call("getblockcount") >= 3, timeout=60)
    info = n.call("getmininginfo")
    assert info["mining"] and info["chain"] == "testnet" and info["blocks_mined"] >= 3, info
    expect_rpc_error(-32, n.call, "generate", 1)
    mined = n.events("block_mined")
    assert len(mined) >= 3 and mined[0]["height"] == 1
    assert n.stop() == 0
    assert n.events("node_stop")
    # regtest refuses --mine (blocks there come from generate)
    r = env.node("r", "--mine")
    p = subprocess.run(r.args(), capture_output=True, text=True, timeout=20)
    assert p.returncode == 1 and "--mine needs --network testnet" in p.stderr, p.stderr


if __name__ == "__main__":
    run([test_every_method, test_errors, test_slow_client, test_restart_keeps_chain,
         test_kill9_keeps_committed_blocks, test_user_password, test_flags, test_rpc_doc,
         test_testnet_mining], sys.argv)
