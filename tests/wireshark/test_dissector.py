#!/usr/bin/env python3
"""The Wireshark dissector (tools/wireshark/gossipd.lua) on a real capture.

Three regtest nodes in a line a - b - c on 127.0.0.1 (compact blocks on, the
default; tx relay --relay=push); `tshark -i lo` captures only their P2P ports, for
at most CAPTURE_S seconds, while a block is mined at a, a tx is sent at c and mined
into a block at b, and the nodes stay up past a ping and a reconciliation round. Then tshark reads the capture with the dissector and the
test asserts:
  * the dissector loads (no Lua error) and decodes every frame: zero malformed
    frames (_ws.malformed, gossipd.malformed), zero bad checksums;
  * every gossipd command the nodes send in such a run is seen and decoded
    (version, verack, sendheaders, getaddr, addr, getheaders, headers, inv,
    getdata, tx, recon, ping, pong, sendcmpct, cmpctblock, pushreq);
  * the `tx` frame carries the txid gossip-cli printed, and the `cmpctblock` (or
    `block`) frames carry the hashes `generate` returned (the dissector computes
    SHA256d itself); the second block's cmpctblock counts 2 txs, every sendcmpct
    is version 1, and a pushreq grafts a bucket (the tx pulled by b and a);
  * crafted frames of every kind, good ones decoded to the fields they encode and
    bad ones (those gossipd's decoders reject) flagged;
  * the version fields decode to what the nodes are: user agent
    /gossipd:...(NAME)/, the listening port.
Skipped (exit 77) with a clear line when tshark is missing or cannot capture on lo.

usage: test_dissector.py GOSSIPD GOSSIP-CLI
"""

import hashlib
import os
import re
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402

DISSECTOR = os.path.join(REPO, "tools", "wireshark", "gossipd.lua")
CAPTURE_S = 90            # tshark stops by itself after this (-a duration)
PING_WAIT_S = 12          # P2P_PING_INTERVAL_MS (10 s) and a recon round (5 s)
SKIP = 77
EXPECTED = {"version", "verack", "sendheaders", "getaddr", "addr", "getheaders",
            "headers", "inv", "getdata", "tx", "recon", "ping", "pong", "sendcmpct",
            "cmpctblock", "pushreq"}
# Seen or not depending on the run: a whole block (a compact one that failed), a
# getblocktxn round (a tx the receiver lacked).
OPTIONAL = {"mempool", "notfound", "block", "getblocktxn", "blocktxn"}


def skip(why):
    print("SKIP: dissector test: %s" % why, flush=True)
    sys.exit(SKIP)


def tshark_read(pcap, *args):
    cmd = ["tshark", "-r", pcap, "-X", "lua_script:" + DISSECTOR,
           "-o", "tcp.try_heuristic_first:TRUE"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError("tshark -r failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    if "Lua" in r.stderr and "rror" in r.stderr:
        raise AssertionError("the dissector raised a Lua error: %s" % r.stderr[-2000:])
    return r.stdout


def doc_examples():
    """The hex examples of docs/PROTOCOL.md, by kind (tx, block, inv, ...)."""
    out = {}
    kind = None
    with open(os.path.join(REPO, "docs", "PROTOCOL.md")) as f:
        for line in f:
            m = re.match(r"```hex (\w+)", line)
            if m:
                kind = m.group(1)
            elif kind:
                out[kind] = bytes.fromhex(line.strip())
                kind = None
    return out


REGTEST_MAGIC = 0x74727367


def frame(cmd, payload, checksum=None):
    ck = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return (struct.pack("<I", REGTEST_MAGIC) + cmd.encode().ljust(12, b"\0") +
            struct.pack("<I", len(payload)) + (checksum or ck) + payload)


def write_pcap(path, frames):
    """A libpcap file (raw IPv4) with each frame alone in a TCP segment of its own
    stream: source port 40000 + i, destination 19444 (regtest)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for i, data in enumerate(frames):
            tcp = struct.pack(">HHIIBBHHH", 40000 + i, 19444, 1, 1, 5 << 4, 0x18, 65535, 0, 0)
            total = 20 + len(tcp) + len(data)
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, i, 0, 64, 6, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            pkt = ip + tcp + data
            f.write(struct.pack("<IIII", 1796000000 + i, 0, len(pkt), len(pkt)) + pkt)


def txid_of(raw):
    return hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()


def crafted(tmp):
    """Frames an attacker could send: the dissector must decode the good ones to the
    hashes and fields docs/PROTOCOL.md states and flag every bad one gossipd.malformed
    (or gossipd.bad_checksum), as gossipd's decoders would reject them."""
    ex = doc_examples()
    tx, blk, inv = ex["tx"], ex["block"], ex["inv"]
    hdr = ex["header"]
    coinbase = blk[89:]                       # the genesis block holds one tx
    cb_txid = txid_of(coinbase)
    u64 = lambda v: struct.pack("<Q", v)     # noqa: E731
    u32 = lambda v: struct.pack("<I", v)     # noqa: E731
    gen = bytes.fromhex(DOC_GENESIS)[::-1]
    nonce = u64(0x1122334455667788)
    sid = bytes([0x01, 0x02, 0x03, 0x04, 0x05, 0x06])  # LE 0x060504030201
    # header | nonce | 1 short id | 1 prefilled (index 0, the coinbase): 2 txs
    cmpct = hdr + nonce + b"\x01" + sid + b"\x01\x00" + coinbase
    # name, frame, want, value, {field: the values tshark prints, comma-joined}
    cases = [
        ("good tx", frame("tx", tx), "txid", DOC_TXID, {}),
        ("good block", frame("block", blk), "hash", DOC_GENESIS, {}),
        ("good inv", frame("inv", inv), None, None, {}),
        ("truncated tx", frame("tx", tx[:-1]), "malformed", None, {}),
        ("tx version 2", frame("tx", b"\x02" + tx[1:]), "malformed", None, {}),
        ("tx trailing byte", frame("tx", tx + b"\0"), "malformed", None, {}),
        ("inv type 3", frame("inv", b"\x01\x03" + inv[2:]), "malformed", None, {}),
        ("inv non-minimal count", frame("inv", b"\xfd\x01\x00" + inv[1:]), "malformed", None,
         {}),
        ("inv count beyond the bytes", frame("inv", b"\x02" + inv[1:]), "malformed", None, {}),
        ("headers with a tx count", frame("headers", b"\x01" + hdr + b"\x01"), "malformed",
         None, {}),
        ("verack with a payload", frame("verack", b"\0"), "malformed", None, {}),
        ("recon kind 2", frame("recon", b"\x01\x02\x00" + b"\0" * 4 + b"\x00"), "malformed",
         None, {}),
        ("bad checksum", frame("ping", b"\0" * 8, b"\xde\xad\xbe\xef"), "checksum", None, {}),
        # compact blocks (p2p_dec_sendcmpct, _cmpctblock, _getblocktxn, _blocktxn)
        ("good sendcmpct", frame("sendcmpct", b"\x01" + u64(1)), None, None,
         {"gossipd.sendcmpct.hb": "1", "gossipd.sendcmpct.version": "1"}),
        ("sendcmpct hb 2", frame("sendcmpct", b"\x02" + u64(1)), "malformed", None, {}),
        ("sendcmpct truncated", frame("sendcmpct", b"\x00" + u64(1)[:7]), "malformed", None,
         {}),
        ("good cmpctblock", frame("cmpctblock", cmpct), "hash", DOC_GENESIS,
         {"gossipd.cmpct.nonce": "0x1122334455667788",
          "gossipd.cmpct.shortid": "0x0000060504030201", "gossipd.cmpct.index": "0",
          "gossipd.cmpct.tx_count": "2", "gossipd.tx.txid": cb_txid}),
        ("cmpctblock no prefilled", frame("cmpctblock", hdr + nonce + b"\x01" + sid + b"\x00"),
         "malformed", None, {}),
        ("cmpctblock first index 1", frame("cmpctblock", hdr + nonce + b"\x01" + sid +
                                           b"\x01\x01" + coinbase), "malformed", None, {}),
        ("cmpctblock index past the block",
         frame("cmpctblock", hdr + nonce + b"\x00\x02\x00" + coinbase + b"\x01" + tx),
         "malformed", None, {}),
        ("cmpctblock short ids beyond the bytes",
         frame("cmpctblock", hdr + nonce + b"\x05" + sid + b"\x01\x00" + coinbase[:20]),
         "malformed", None, {}),
        ("cmpctblock short-id count above the cap",
         frame("cmpctblock", hdr + nonce + b"\xfe\x00\x00\x01\x00" + b"\0" * 64), "malformed",
         None, {}),
        ("good getblocktxn", frame("getblocktxn", gen + b"\x02\x01\x00"), None, None,
         {"gossipd.blocktxn.hash": DOC_GENESIS, "gossipd.cmpct.index": "1,2"}),
        ("getblocktxn of nothing", frame("getblocktxn", gen + b"\x00"), "malformed", None, {}),
        ("getblocktxn index past the cap",
         frame("getblocktxn", gen + b"\x02\x00\xfd" + struct.pack("<H", 27234)), "malformed",
         None, {}),
        ("getblocktxn non-minimal delta", frame("getblocktxn", gen + b"\x01\xfd\x01\x00"),
         "malformed", None, {}),
        ("good blocktxn", frame("blocktxn", gen + b"\x01" + tx), "txid", DOC_TXID,
         {"gossipd.blocktxn.hash": DOC_GENESIS}),
        ("blocktxn count beyond the bytes", frame("blocktxn", gen + b"\x02" + tx), "malformed",
         None, {}),
        # learned eager push (p2p_dec_pushreq)
        ("good pushreq", frame("pushreq", u32(0x0003) + u32(0x0100)), None, None,
         {"gossipd.pushreq.graft": "0x00000003", "gossipd.pushreq.prune": "0x00000100"}),
        ("pushreq bit 31", frame("pushreq", u32(0x80000000) + u32(0)), None, None,
         {"gossipd.pushreq.graft": "0x80000000"}),
        ("pushreq graft and prune", frame("pushreq", u32(0x0004) + u32(0x0006)), "malformed",
         None, {}),
        ("pushreq truncated", frame("pushreq", u32(1) + b"\0\0\0"), "malformed", None, {}),
    ]
    pcap = os.path.join(tmp, "crafted.pcap")
    write_pcap(pcap, [c[1] for c in cases])
    extra = sorted({k for c in cases for k in c[4]} - {"gossipd.tx.txid"})
    out = tshark_read(pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
                      "-E", "aggregator=,",
                      "-e", "tcp.srcport", "-e", "gossipd.command", "-e", "gossipd.malformed",
                      "-e", "gossipd.bad_checksum", "-e", "gossipd.tx.txid",
                      "-e", "gossipd.block.hash", "-e", "_ws.malformed",
                      *[a for k in extra for a in ("-e", k)])
    rows = {}
    for line in out.splitlines():
        f = line.split("\t") + [""] * (7 + len(extra))
        if f[0].isdigit():
            rows[int(f[0]) - 40000] = f
    failures = []
    for i, (name, _, want, value, fields) in enumerate(cases):
        f = rows.get(i)
        if f is None or not f[1]:
            failures.append("%s: not dissected as gossipd" % name)
            continue
        mal, ck, txids, hashes, wsmal = f[2], f[3], f[4], f[5], f[6]
        got = dict(zip(extra, f[7:]))
        got["gossipd.tx.txid"] = txids
        if wsmal and want != "malformed":
            failures.append("%s: Wireshark calls it malformed" % name)
        if want == "malformed" and not mal:
            failures.append("%s: not flagged gossipd.malformed" % name)
        if want == "checksum" and not ck:
            failures.append("%s: bad checksum not flagged" % name)
        if want in ("txid", "hash", None) and (mal or ck):
            failures.append("%s: wrongly flagged: %s %s" % (name, mal, ck))
        if want == "txid" and value not in txids.split(","):
            failures.append("%s: txid %r, want %s" % (name, txids, value))
        if want == "hash" and value not in hashes.split(","):
            failures.append("%s: block hash %r, want %s" % (name, hashes, value))
        for k, v in fields.items():
            if got.get(k) != v:
                failures.append("%s: %s = %r, want %r" % (name, k, got.get(k), v))
    tree = tshark_read(pcap, "-O", "gossipd")
    if "Lua Error" in tree:
        failures.append("the dissector threw: " + "\n".join(
            l for l in tree.splitlines() if "Lua Error" in l)[:2000])
    return failures, len(cases)


DOC_TXID = "b215feeff2da0075a0ed442fcf42e7219e4a176d421014359213c0e35c3ab2f7"
DOC_GENESIS = "02222830fa78788eb72e1c1141c324386cb4f8c0ec2548343b3fb324c300fb04"


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    if subprocess.run(["sh", "-c", "command -v tshark"], capture_output=True).returncode:
        skip("tshark is not installed (tools/deps installs it)")
    env = harness.Env(sys.argv[1], sys.argv[2])
    failures, n = crafted(env.tmp)
    if failures:
        for f in failures:
            print("FAIL: crafted frames: " + f, flush=True)
        env.close()
        return 1
    print("ok: %d crafted frames: the good ones decode to the documented hashes, every "
          "bad one is flagged" % n, flush=True)
    cap = None
    try:
        # v1: the dissector reads v1 framing; a v2 stream is ciphertext by
        # design (tests/integration/test_v2_transport.py checks that).
        # --relay=push: a tx pulled over a link grafts it (pushreq).
        a = env.node("a", "--connect=0", "-v2transport=0", "--relay=push")
        b = env.node("b", "--connect=127.0.0.1:%d" % a.port, "-v2transport=0", "--relay=push")
        c = env.node("c", "--connect=127.0.0.1:%d" % b.port, "-v2transport=0", "--relay=push")
        nodes = (a, b, c)
        pcap = os.path.join(env.tmp, "gossipd.pcapng")
        filt = " or ".join("tcp port %d" % n.port for n in nodes)
        cap = subprocess.Popen(["tshark", "-i", "lo", "-f", filt, "-w", pcap,
                                "-a", "duration:%d" % CAPTURE_S, "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # tshark says "Capturing on 'Loopback: lo'" once it captures.
        line = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = cap.stderr.readline()
            if not line or "Capturing on" in line:
                break
        if "Capturing on" not in line:
            cap.wait(timeout=10)
            skip("tshark cannot capture on lo: %s" % (line.strip() or cap.stderr.read()[-300:]))
        for n in nodes:
            n.start()
        harness.wait_for("the line is connected", lambda: a.call("getconnectioncount") == 1
                         and b.call("getconnectioncount") == 2
                         and c.call("getconnectioncount") == 1)
        blocks = list(a.call("generate", 1))
        harness.wait_for("block 1 at c", lambda: c.call("getblockcount") == 1)
        to = a.call("getnewaddress")
        key = os.path.join(env.tmp, "dev.key")
        c.cli("devkey", key)
        txid = re.findall(r"[0-9a-f]{64}", c.cli("send", key, to, "100000000"))[0]
        harness.wait_for("the tx at a", lambda: txid in a.call("getrawmempool"))
        blocks += b.call("generate", 1)
        harness.wait_for("block 2 everywhere",
                         lambda: all(n.call("getblockcount") == 2 for n in nodes))
        time.sleep(PING_WAIT_S)
        for n in nodes:
            n.stop()
        cap.send_signal(signal.SIGINT)
        cap.wait(timeout=30)
        cap = None

        out = tshark_read(pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
                          "-E", "aggregator=,", "-e", "frame.number", "-e", "gossipd.command",
                          "-e", "gossipd.tx.txid", "-e", "gossipd.block.hash",
                          "-e", "gossipd.version.name", "-e", "gossipd.addr.port",
                          "-e", "_ws.malformed", "-e", "gossipd.malformed",
                          "-e", "gossipd.checksum_ok", "-e", "gossipd.sendcmpct.version",
                          "-e", "gossipd.cmpct.tx_count", "-e", "gossipd.pushreq.graft")
        frames = 0
        cmds, txids, block_hashes, names, ports = {}, set(), set(), set(), set()
        sc_versions, cmpct_counts, grafts = set(), set(), set()
        bad = []
        for row in out.splitlines():
            f = row.split("\t")
            f += [""] * (12 - len(f))
            num, cmd, tx, blk, name, port, malformed, gmal, ck, scv, cbn, graft = f[:12]
            if not cmd:
                continue
            frames += 1
            cs = cmd.split(",")
            for x in cs:
                cmds[x] = cmds.get(x, 0) + 1
            if malformed or gmal:
                bad.append("frame %s (%s): malformed" % (num, cmd))
            if "False" in ck.split(",") or "0" in ck.split(","):
                bad.append("frame %s (%s): bad checksum" % (num, cmd))
            if "tx" in cs:
                txids.update(x for x in tx.split(",") if x)
            if "block" in cs or "cmpctblock" in cs:
                block_hashes.update(x for x in blk.split(",") if x)
            sc_versions.update(x for x in scv.split(",") if x)
            cmpct_counts.update(x for x in cbn.split(",") if x)
            grafts.update(x for x in graft.split(",") if x)
            names.update(x for x in name.split(",") if x)
            ports.update(x for x in port.split(",") if x)
        print("frames with gossipd messages: %d; commands: %s" % (
            frames, ", ".join("%s %d" % kv for kv in sorted(cmds.items()))), flush=True)
        failures = list(bad[:20])
        # Frames tshark itself calls malformed, whatever the protocol.
        mal = tshark_read(pcap, "-Y", "_ws.malformed || gossipd.malformed || "
                          "gossipd.bad_checksum").strip()
        if mal:
            failures.append("malformed frames:\n" + mal[:3000])
        # A Lua error inside the dissector shows in the packet tree, not on stderr.
        tree = tshark_read(pcap, "-O", "gossipd")
        if "Lua Error" in tree:
            failures.append("Lua errors in the dissection:\n" + "\n".join(
                l for l in tree.splitlines() if "Lua Error" in l)[:3000])
        missing = EXPECTED - set(cmds)
        if missing:
            failures.append("commands never decoded: %s" % ", ".join(sorted(missing)))
        unknown = set(cmds) - EXPECTED - OPTIONAL
        if unknown:
            failures.append("unexpected commands: %s" % ", ".join(sorted(unknown)))
        if txid not in txids:
            failures.append("txid %s not in the tx frames (%s)" % (txid, sorted(txids)))
        for h in blocks:
            if h not in block_hashes:
                failures.append("block %s not in the cmpctblock/block frames (%s)"
                                % (h, sorted(block_hashes)))
        if sc_versions != {"1"}:
            failures.append("sendcmpct versions decoded: %s" % sorted(sc_versions))
        if "2" not in cmpct_counts:
            failures.append("no cmpctblock of 2 txs (block 2): %s" % sorted(cmpct_counts))
        if not grafts - {"0x00000000"}:
            failures.append("no pushreq grafts a bucket: %s" % sorted(grafts))
        if not {"a", "b", "c"} <= names:
            failures.append("version names decoded: %s" % sorted(names))
        if not {str(n.port) for n in nodes} & ports:
            failures.append("no listening port in the version addresses: %s" % sorted(ports))
        if failures:
            for f in failures:
                print("FAIL: " + f, flush=True)
            env.dump_logs()
            return 1
        print("ok: %d frames decoded, 0 malformed; tx %s and blocks %s found with their "
              "hashes" % (frames, txid[:16], ", ".join(h[:16] for h in blocks)), flush=True)
        return 0
    finally:
        if cap is not None and cap.poll() is None:
            cap.send_signal(signal.SIGINT)
            try:
                cap.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cap.kill()
                cap.wait()
        if os.environ.get("KEEP_PCAP"):
            import shutil
            shutil.copy(os.path.join(env.tmp, "gossipd.pcapng"), os.environ["KEEP_PCAP"])
        env.close()


if __name__ == "__main__":
    sys.exit(main())
