#!/usr/bin/env python3
"""gossipd integration: running a node by hand, as an operator would.

The datadir lock, signals (SIGTERM/SIGINT clean stop, SIGHUP reopening the log
file under logrotate), -daemon with a pid file, the config file with its
precedence and errors, and gossip-cli's -rpcwait, -named, -stdin, -getinfo.

usage: test_node_ops.py GOSSIPD GOSSIP-CLI [TEST ...]
"""
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, run, wait_for  # noqa: E402

COIN = 100000000


def read(path):
    with open(path) as f:
        return f.read()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def mempool_tx(env, n):
    """Put one tx in n's mempool (from the development key genesis funds)."""
    dev = os.path.join(env.tmp, "dev.key")
    if not os.path.exists(dev):
        n.cli("devkey", dev)
    dest = os.path.join(env.tmp, "dest.key")
    if not os.path.exists(dest):
        n.cli("keygen", dest)
    return n.cli("send", dev, n.cli("address", dest), str(COIN))


def test_second_instance_touches_nothing(env):
    """Two nodes on one datadir: the second exits at once, changing nothing."""
    a = env.node("a").start()
    txid = mempool_tx(env, a)
    cookie = read(os.path.join(a.datadir, ".cookie"))
    pidfile = read(os.path.join(a.datadir, "gossipd.pid"))
    log_size = os.path.getsize(os.path.join(a.datadir, "debug.log"))
    # Same datadir, other ports: everything but the datadir would work.
    b = env.node("b")
    args = [x for x in b.args() if not x.startswith("--datadir")] + ["-datadir=" + a.datadir]
    t0 = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "cannot lock the data directory" in p.stderr and str(a.proc.pid) in p.stderr, p.stderr
    assert time.monotonic() - t0 < 20
    assert read(os.path.join(a.datadir, ".cookie")) == cookie
    assert read(os.path.join(a.datadir, "gossipd.pid")) == pidfile
    assert not os.path.exists(os.path.join(a.datadir, "mempool.dat"))
    assert os.path.getsize(os.path.join(a.datadir, "debug.log")) == log_size
    # gossip-cli still authenticates with the first node's cookie
    assert a.cli("getmempoolinfo") and json.loads(a.cli("getrawmempool")) == [txid]
    # its clean stop writes the mempool and removes cookie and pid file
    assert a.stop() == 0
    assert os.path.getsize(os.path.join(a.datadir, "mempool.dat")) > 0
    assert not os.path.exists(os.path.join(a.datadir, ".cookie"))
    assert not os.path.exists(os.path.join(a.datadir, "gossipd.pid"))
    # and the lock is free again
    a.start()
    assert json.loads(a.cli("getrawmempool")) == [txid]
    a.stop()


def test_sigint_and_sigterm_stop_cleanly(env):
    for sig in (signal.SIGINT, signal.SIGTERM):
        n = env.node("n%d" % sig).start()
        mempool_tx(env, n)
        n.proc.send_signal(sig)
        assert n.proc.wait(timeout=30) == 0
        n.stop()
        assert os.path.getsize(os.path.join(n.datadir, "mempool.dat")) > 0
        assert not os.path.exists(os.path.join(n.datadir, ".cookie"))
        assert not os.path.exists(os.path.join(n.datadir, "gossipd.pid"))
        name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
        assert [e for e in n.events("signal") if e["signal"] == name]
        assert n.events("mempool_saved") and n.events("node_stop")
        # the last line of the log file is the final one
        last = read(os.path.join(n.datadir, "debug.log")).splitlines()[-1]
        assert json.loads(last)["event"] == "node_stop", last


def test_sighup_reopens_log(env):
    """logrotate: move debug.log away, SIGHUP, the node writes a new one."""
    n = env.node("a").start()
    log = os.path.join(n.datadir, "debug.log")
    wait_for("node_start in debug.log", lambda: "node_start" in read(log))
    os.rename(log, log + ".1")
    n.call("generate", 1)           # written to the moved file (still open)
    n.proc.send_signal(signal.SIGHUP)
    wait_for("new debug.log", lambda: os.path.exists(log) and "log_reopened" in read(log))
    n.call("generate", 1)
    wait_for("block 2 in the new file", lambda: '"height":2' in read(log))
    old = read(log + ".1")
    assert '"height":1' in old and "log_reopened" not in old and '"height":2' not in old
    assert n.proc.poll() is None    # SIGHUP used to kill the node (exit 129)
    n.proc.send_signal(signal.SIGHUP)
    wait_for("second reopen", lambda: read(log).count("log_reopened") == 2)
    assert n.stop() == 0
    assert "node_stop" in read(log)


def test_daemon_and_pidfile(env):
    n = env.node("d")
    args = [x for x in n.args() if x != "--printtoconsole"] + ["-daemon", "-pid=d.pid"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    pidpath = os.path.join(n.datadir, "d.pid")
    pid = int(read(pidpath))
    assert "pid %d" % pid in p.stdout, p.stdout
    try:
        assert pid_alive(pid)
        # the parent returned only once the node answers
        assert n.call("getblockcount") == 0
        assert read(os.path.join(n.datadir, ".lock")).strip() == str(pid)
        # a second -daemon on the same datadir fails in the foreground
        q = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert q.returncode == 1 and "cannot lock" in q.stderr, q.stderr
        # a -daemon that fails to start says why and exits non-zero
        e = env.node("e")
        bad = [x for x in e.args() if x != "--printtoconsole"] + ["-daemon",
                                                                  "-rpcbind=192.0.2.1"]
        q = subprocess.run(bad, capture_output=True, text=True, timeout=60)
        assert q.returncode == 1 and "startup_failed" in q.stderr, q.stderr
        os.kill(pid, signal.SIGTERM)
        wait_for("daemon exit", lambda: not pid_alive(pid))
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert not os.path.exists(pidpath)
    assert not os.path.exists(os.path.join(n.datadir, ".cookie"))
    assert "node_stop" in read(os.path.join(n.datadir, "debug.log"))


def start(env, n, args, extra_env=None):
    e = dict(os.environ, **(extra_env or {}))
    n.logf = open(n.log_path, "ab")
    n.proc = subprocess.Popen(args, stdout=n.logf, stderr=n.logf, stdin=subprocess.DEVNULL,
                              env=e)
    env.procs.append(n.proc)
    return n


def test_config_file(env):
    n = env.node("c")
    rpc_port = n.rpc_port
    with open(os.path.join(n.datadir, "gossipd.conf"), "w") as f:
        f.write("# written by hand\n"
                "regtest=1\n"
                "rpcport=%d        # bitcoind's spelling of rpc-port\n"
                "name=fromfile\n"
                "max-peers=5\n"
                "[testnet]\n"
                "rpc-port=1\n"
                "[regtest]\n"
                "port=%d\n" % (rpc_port, n.port))
    base = [n.env.gossipd, "--datadir=" + n.datadir, "--bind=127.0.0.1", "--log-json",
            "--printtoconsole"]
    # file alone
    start(env, n, base)
    wait_for("node from file", lambda: n.call("getblockcount") == 0)
    info = n.call("getnetworkinfo")
    assert info["name"] == "fromfile", info
    # gossip-cli finds the port in the same file (rpcport there is the node's rpc-port)
    p = subprocess.run([env.cli, "-datadir=" + n.datadir, "getblockcount"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "0", p.stderr
    start_ev = n.events("node_start")[-1]
    assert start_ev["p2p_port"] == n.port and start_ev["network"] == "regtest"
    n.stop()
    # environment over the file, command line over both
    start(env, n, base + ["-name=fromflag"], {"GOSSIPD_NAME": "fromenv"})
    wait_for("node", lambda: n.call("getblockcount") == 0)
    assert n.call("getnetworkinfo")["name"] == "fromflag"
    n.stop()
    start(env, n, base, {"GOSSIPD_NAME": "fromenv"})
    wait_for("node", lambda: n.call("getblockcount") == 0)
    assert n.call("getnetworkinfo")["name"] == "fromenv"
    n.stop()
    # -conf names another file (relative: under the datadir)
    with open(os.path.join(n.datadir, "other.conf"), "w") as f:
        f.write("rpc-port=%d\nname=other\n" % rpc_port)
    start(env, n, base + ["-conf=other.conf"])
    wait_for("node", lambda: n.call("getblockcount") == 0)
    assert n.call("getnetworkinfo")["name"] == "other"
    n.stop()
    # an unknown key is an error naming file and line; nothing starts
    with open(os.path.join(n.datadir, "gossipd.conf"), "a") as f:
        f.write("rpcpasword=typo\n")
    p = subprocess.run(base, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    want = "%s:10: unknown key 'rpcpasword'" % os.path.join(n.datadir, "gossipd.conf")
    assert want in p.stderr, p.stderr
    p = subprocess.run(base + ["-conf=missing.conf"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "missing.conf" in p.stderr, p.stderr


def test_flag_styles(env):
    """Both binaries take -flag and --flag, and -regtest / -testnet."""
    n = env.node("s")
    args = [n.env.gossipd, "-regtest", "-datadir=" + n.datadir, "-bind=127.0.0.1",
            "-port=%d" % n.port, "--rpcport=%d" % n.rpc_port, "-logjson", "-printtoconsole",
            "-name", "dashes"]
    start(env, n, args)
    wait_for("node", lambda: n.call("getblockcount") == 0)
    assert n.call("getnetworkinfo")["name"] == "dashes"
    for style in ("-", "--"):
        p = subprocess.run([env.cli, style + "regtest", style + "rpcport=%d" % n.rpc_port,
                            style + "datadir=" + n.datadir, "getblockcount"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.strip() == "0", p.stderr
    n.stop()


def cli(env, *args, input=None, timeout=60):
    return subprocess.run([env.cli] + list(args), capture_output=True, text=True,
                          input=input, timeout=timeout)


def rpcwait_then_start(env, n, base, pause_s):
    """Start `gossip-cli -rpcwait=120 getblockcount`, check it still waits
    after pause_s, then start n (not waiting for it); returns the cli's Popen."""
    w = subprocess.Popen([env.cli] + base + ["-rpcwait=120", "getblockcount"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    env.procs.append(w)          # killed with the env if the test fails
    time.sleep(pause_s)
    if w.poll() is not None:
        raise AssertionError("-rpcwait returned before the node started: %r" %
                             (w.communicate(),))
    n.start(wait=False)
    return w


def test_cli_rpcwait(env):
    """-rpcwait against a node started after the call."""
    n = env.node("w")
    base = ["-rpcport=%d" % n.rpc_port, "-datadir=" + n.datadir]
    # without -rpcwait: an immediate failure
    p = cli(env, *base, "getblockcount")
    assert p.returncode != 0 and "cookie" in p.stderr, p.stderr
    p = cli(env, "-rpcport=%d" % n.rpc_port, "-rpcuser=u", "-rpcpassword=p", "getblockcount")
    assert p.returncode != 0 and "couldn't connect" in p.stderr, p.stderr
    # with a limit and no node: gives up after it
    t0 = time.monotonic()
    p = cli(env, *base, "-rpcwait=1", "getblockcount")
    assert p.returncode != 0 and time.monotonic() - t0 >= 1.0, p.stderr
    # a call started before the node waits for it (no cookie, then no listener)
    w = rpcwait_then_start(env, n, base, 1.5)
    try:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0 and out.strip() == "0", err
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    # bare -rpcwait (no limit) on a running node answers at once
    p = cli(env, *base, "-rpcwait", "getblockcount")
    assert p.returncode == 0 and p.stdout.strip() == "0", p.stderr
    n.stop()


class FakeNode(http.server.BaseHTTPRequestHandler):
    """Answers -28 (loading) a few times, then a result; or never answers."""
    loading = 0
    silent = False
    calls = 0
    cookie = None      # a path: the first call finds a stale cookie, replaced meanwhile

    def do_POST(self):
        cls = type(self)
        cls.calls += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if cls.cookie and cls.calls == 1:
            with open(cls.cookie, "w") as f:
                f.write("__cookie__:new\n")
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if cls.silent:
            time.sleep(30)
            return
        if cls.calls <= cls.loading:
            out = {"jsonrpc": "2.0", "id": body["id"], "result": None,
                   "error": {"code": -28, "message": "Loading block index..."}}
        else:
            out = {"jsonrpc": "2.0", "id": body["id"], "result": 42}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def fake_node(loading=0, silent=False, cookie=None):
    handler = type("H", (FakeNode,), {"loading": loading, "silent": silent, "calls": 0,
                                      "cookie": cookie})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, handler


def test_cli_rpcwait_loading_and_timeout(env):
    """-rpcwait treats -28 as "wait"; -rpcclienttimeout bounds a silent node."""
    srv, h = fake_node(loading=3)
    try:
        auth = ["-rpcport=%d" % srv.server_address[1], "-rpcuser=u", "-rpcpassword=p"]
        p = cli(env, *auth, "getblockcount")
        assert p.returncode == 28 and "-28" in p.stderr, (p.returncode, p.stderr)
        p = cli(env, *auth, "-rpcwait=60", "getblockcount")
        assert p.returncode == 0 and p.stdout.strip() == "42", p.stderr
        assert h.calls == 4, h.calls   # one without -rpcwait, two more -28, the answer
    finally:
        srv.shutdown()
    # a stale cookie (the node before it died) replaced while the call ran
    d = os.path.join(env.tmp, "stale")
    os.makedirs(d)
    cookie = os.path.join(d, ".cookie")
    for wait in ([], ["-rpcwait=30"]):
        with open(cookie, "w") as f:
            f.write("__cookie__:stale\n")
        srv, h = fake_node(cookie=cookie)
        try:
            p = cli(env, "-rpcport=%d" % srv.server_address[1], "-datadir=" + d, *wait,
                    "getblockcount")
            if wait:
                assert p.returncode == 0 and p.stdout.strip() == "42", p.stderr
            else:
                assert p.returncode != 0 and "authorization failed" in p.stderr, p.stderr
        finally:
            srv.shutdown()
    srv, h = fake_node(silent=True)
    try:
        t0 = time.monotonic()
        p = cli(env, "-rpcport=%d" % srv.server_address[1], "-rpcuser=u", "-rpcpassword=p",
                "-rpcclienttimeout=1", "getblockcount")
        took = time.monotonic() - t0
        assert p.returncode != 0 and "rpcclienttimeout" in p.stderr, p.stderr
        assert took < 20, took
    finally:
        srv.shutdown()


def test_cli_named_stdin_getinfo(env):
    n = env.node("c").start()
    h0 = n.cli("getblockhash", "0")
    assert n.cli("-named", "getblockhash", "height=0") == h0
    blk = json.loads(n.cli("-named", "getblock", "blockhash=" + h0, "verbosity=1"))
    assert blk["hash"] == h0 and blk["height"] == 0
    p = n.cli("-named", "getblockhash", "0", check=False)
    assert p.returncode != 0 and "NAME=VALUE" in p.stderr, p.stderr
    # -stdin: the method and arguments, one a line; appended after the command line's
    p = subprocess.run([env.cli, "-rpcport=%d" % n.rpc_port, "-datadir=" + n.datadir, "-stdin"],
                       input="getblockhash\n0\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == h0, p.stderr
    p = subprocess.run([env.cli, "-rpcport=%d" % n.rpc_port, "-datadir=" + n.datadir, "-stdin",
                        "-named", "getblock"], input="blockhash=%s\nverbosity=1" % h0,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and json.loads(p.stdout)["hash"] == h0, p.stderr
    n.call("generate", 2)
    mempool_tx(env, n)
    info = json.loads(n.cli("-getinfo"))
    assert info["chain"] == "regtest" and info["blocks"] == 2, info
    assert info["version"] == 100 and info["bestblockhash"] == n.call("getbestblockhash")
    assert info["connections"] == {"in": 0, "out": 0, "total": 0}, info
    assert info["mempool"]["size"] == 1 and info["mempool"]["bytes"] > 0, info
    p = n.cli("-getinfo", "extra", check=False)
    assert p.returncode != 0
    # help goes to stdout and exits 0; usage errors go to stderr
    for h in ("-help", "--help", "-h", "-?"):
        p = cli(env, h)
        assert p.returncode == 0 and "-rpcwait" in p.stdout and not p.stderr, (h, p.stderr)
    p = cli(env, "-bogus")
    assert p.returncode != 0 and "unknown option" in p.stderr and not p.stdout
    p = cli(env, "-rpcport=12x", "getblockcount")
    assert p.returncode != 0 and "-rpcport" in p.stderr, p.stderr
    n.stop()


def warm_calls(n, until, timeout=120):
    """Call getblockcount on n (started with wait=False) every 20 ms until
    until(result or RPCError) is true; returns the -28 messages seen and the
    /metrics text fetched during the first -28, or fails at the deadline."""
    import http.client
    from harness import RPCError
    seen, metrics = [], None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = n.call("getblockcount", timeout=10)
        except RPCError as e:
            r = e
            if e.code == -28:
                seen.append(e.message)
                if metrics is None:
                    c = http.client.HTTPConnection("127.0.0.1", n.rpc_port, timeout=10)
                    c.request("GET", "/metrics")
                    metrics = c.getresponse().read().decode()
                    c.close()
        except (OSError, AssertionError):
            r = None          # not listening yet, no cookie yet
        if r is not None and until(r):
            return seen, metrics, r
        time.sleep(0.02)
    raise AssertionError("no answer in %ds (seen %r)" % (timeout, seen[-3:]))


def test_rpc_warmup(env):
    """RPC comes up before the chain loads: while -reindex rebuilds 800
    blocks, calls get -28 with the step (as bitcoind), /metrics says
    gossipd_warmup 1, a -rpcwait call started before the node answers the
    right count; `stop` or SIGTERM during the warm-up stops it (exit 0,
    chain intact). A corrupt store is still refused with the recovery
    message (test_node_service's store tests, through the same load)."""
    from harness import RPCError
    n = env.node("warm", "--connect=0").start()
    blocks = 800
    n.call("generate", blocks, timeout=300)
    assert n.stop() == 0
    n.extra_args = ["--connect=0", "--reindex"]
    base = ["-rpcport=%d" % n.rpc_port, "-datadir=" + n.datadir]
    w = rpcwait_then_start(env, n, base, 0.5)
    try:
        seen, metrics, r = warm_calls(n, lambda r: not isinstance(r, RPCError))
        assert r == blocks, r
        assert "Reindexing blocks..." in seen, seen
        assert set(seen) <= {"Starting...", "Reindexing blocks...", "Loading block index...",
                             "Verifying blocks...", "Loading mempool...",
                             "Starting network threads..."}, seen
        assert "gossipd_warmup 1" in metrics and "process_open_fds" in metrics, metrics
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0 and out.strip() == str(blocks), (w.returncode, err)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    ev = [e["event"] for e in n.events()]
    last = len(ev) - 1 - ev[::-1].index("warmup_start")
    assert ev.index("reindex_done", last) < ev.index("node_start", last), ev[last:]
    assert n.events("warmup_start")[-1]["reindex"] is True
    assert n.stop() == 0

    # `stop` while loading: answered at once, the load step finishes, nothing
    # else starts, exit 0
    n.start(wait=False)
    warm_calls(n, lambda r: isinstance(r, RPCError) and r.code == -28)
    said = n.call("stop")
    assert "after the current load step" in said, said
    assert n.proc.wait(timeout=120) == 0
    n.stop()
    ev = [e["event"] for e in n.events()]
    last = len(ev) - 1 - ev[::-1].index("warmup_start")
    assert "node_start" not in ev[last:] and "node_stop" in ev[last:], ev[last:]
    assert [e for e in n.events("node_stop") if e.get("during") == "warm-up"]
    assert not os.path.exists(os.path.join(n.datadir, ".cookie"))
    # SIGTERM while loading: the same
    n.start(wait=False)
    warm_calls(n, lambda r: isinstance(r, RPCError) and r.code == -28)
    n.proc.send_signal(signal.SIGTERM)
    assert n.proc.wait(timeout=120) == 0
    n.stop()
    assert n.events("node_stop")[-1].get("during") == "warm-up", n.events("node_stop")
    # the chain is whole
    n.extra_args = ["--connect=0"]
    n.start()
    assert n.call("getblockcount") == blocks
    assert n.stop() == 0


if __name__ == "__main__":
    run([test_second_instance_touches_nothing, test_sigint_and_sigterm_stop_cleanly,
         test_sighup_reopens_log, test_daemon_and_pidfile, test_config_file,
         test_flag_styles, test_cli_rpcwait, test_cli_rpcwait_loading_and_timeout,
         test_cli_named_stdin_getinfo, test_rpc_warmup], sys.argv)
