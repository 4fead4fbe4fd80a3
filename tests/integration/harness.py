"""Helpers for integration tests: real gossipd processes on 127.0.0.1.

Each node gets free ports, its own datadir under a temporary directory and a
JSON log file. Nodes are stopped by PID (SIGTERM, then SIGKILL after a grace
period); every wait is bounded.
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEFAULT_WAIT_S = 30


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, pred, timeout=DEFAULT_WAIT_S, interval=0.05):
    """Poll pred() until it returns a truthy value; fail after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # the node may not be up yet
            last_exc = e
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last error: %r)" % (what, last_exc))


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class Node:
    def __init__(self, env, name, extra_args=(), rpc_user=None, rpc_password=None):
        self.env = env
        self.name = name
        self.datadir = os.path.join(env.tmp, name)
        os.makedirs(self.datadir, exist_ok=True)
        self.port = free_port()
        self.rpc_port = free_port()
        self.log_path = os.path.join(env.tmp, name + ".log")
        self.extra_args = list(extra_args)
        self.rpc_user = rpc_user
        self.rpc_password = rpc_password
        self.proc = None

    def args(self):
        a = [self.env.gossipd, "--network=regtest", "--datadir=" + self.datadir,
             "--name=" + self.name, "--bind=127.0.0.1", "--port=%d" % self.port,
             "--rpc-port=%d" % self.rpc_port, "--log-json", "--printtoconsole"]
        if self.rpc_user:
            a += ["--rpc-user=" + self.rpc_user, "--rpc-password=" + self.rpc_password]
        return a + self.extra_args

    def start(self, wait=True):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)
        self.env.procs.append(self.proc)
        if wait:
            wait_for("%s RPC" % self.name, lambda: self.call("getblockcount") is not None)
        return self

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("%s did not stop within %ds" % (self.name, timeout))
        rc = self.proc.returncode
        self.logf.close()
        self.proc = None
        return rc

    # ---- RPC ----
    def auth(self):
        if self.rpc_user:
            up = "%s:%s" % (self.rpc_user, self.rpc_password)
        else:
            with open(os.path.join(self.datadir, ".cookie")) as f:
                up = f.read().strip()
        return "Basic " + base64.b64encode(up.encode()).decode()

    def metrics(self):
        """GET /metrics: {"name{labels}": value} for every sample line."""
        c = http.client.HTTPConnection("127.0.0.1", self.rpc_port, timeout=10)
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        c.close()
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#") and " " in line:
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def raw(self, body, headers=None, timeout=30):
        """POST body (bytes/str); returns (status, parsed JSON or raw bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.rpc_port, timeout=timeout)
        h = {"Content-Type": "application/json", "Authorization": self.auth()}
        if headers:
            h.update(headers)
        if isinstance(body, str):
            body = body.encode()
        c.request("POST", "/", body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data

    def call(self, method, *params, timeout=60):
        self.env.called.add(method)
        status, resp = self.raw(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                            "params": list(params)}), timeout=timeout)
        if status != 200:
            raise AssertionError("HTTP %d from %s" % (status, method))
        if "error" in resp:
            raise RPCError(resp["error"]["code"], resp["error"]["message"])
        return resp["result"]

    def cli(self, *args, check=True):
        """Run gossip-cli against this node; returns stdout stripped."""
        a = [self.env.cli, "-rpcport=%d" % self.rpc_port, "-datadir=" + self.datadir]
        if self.rpc_user:
            a += ["-rpcuser=" + self.rpc_user, "-rpcpassword=" + self.rpc_password]
        p = subprocess.run(a + list(args), capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("gossip-cli %s failed (%d): %s" % (args, p.returncode,
                                                                  p.stderr))
        return p.stdout.strip() if check else p

    # ---- logs ----
    def events(self, name=None):
        out = []
        try:
            with open(self.log_path) as f:
                for line in f:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        raise AssertionError("%s: bad JSON log line %r" % (self.name, line))
                    if name is None or ev.get("event") == name:
                        out.append(ev)
        except FileNotFoundError:
            pass
        return out


class Env:
    """A temporary directory and the processes started in it."""

    def __init__(self, gossipd, cli):
        self.gossipd = os.path.abspath(gossipd)
        self.cli = os.path.abspath(cli)
        self.tmpobj = tempfile.TemporaryDirectory(prefix="gossipd-it-")
        self.tmp = self.tmpobj.name
        self.procs = []
        self.called = set()     # RPC methods called through Node.call

    def node(self, name, *extra, **kw):
        return Node(self, name, extra, **kw)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.tmpobj.cleanup()

    def dump_logs(self):
        for f in sorted(os.listdir(self.tmp)):
            if f.endswith(".log"):
                sys.stderr.write("---- %s ----\n" % f)
                with open(os.path.join(self.tmp, f), errors="replace") as fh:
                    sys.stderr.write(fh.read()[-20000:])


def run(tests, argv):
    """Run test functions f(env) with fresh Envs; exit non-zero on failure."""
    if len(argv) < 3:
        sys.stderr.write("usage: %s GOSSIPD GOSSIP-CLI [TEST ...]\n" % argv[0])
        sys.exit(2)
    only = set(argv[3:])
    failed = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        env = Env(argv[1], argv[2])
        t0 = time.monotonic()
        try:
            t(env)
            print("ok   %s (%.1fs)" % (t.__name__, time.monotonic() - t0), flush=True)
        except Exception:
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s" % t.__name__, flush=True)
            env.dump_logs()
        finally:
            env.close()
    sys.exit(1 if failed else 0)
