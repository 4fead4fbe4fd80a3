#!/usr/bin/env python3
"""Writes the seed inputs of the compact-block and pushreq decoders into
tests/fuzz/corpus/p2p_msg (selector byte, then the payload, as fuzz_p2p_msg.c
reads them) and tests/fuzz/corpus/p2p_core (command byte, 2-byte length,
payload, as fuzz_p2p_core.c reads them): valid messages and the edge cases
p2p/msg.c refuses. Built from the hex examples of docs/PROTOCOL.md.

usage: seeds_cmpct_push.py   (rewrites the files it names; others untouched)
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "wireshark"))
from test_dissector import doc_examples  # noqa: E402
MAX_TXS = 27235                    # P2P_MAX_CMPCT_TXS
# selectors of fuzz_p2p_msg.c
SEL = {"getheaders": 6, "empty": 9, "pushreq": 0xfb, "sendcmpct": 0xfc,
       "cmpctblock": 0xfd, "getblocktxn": 0xfe, "blocktxn": 0xff}
# enum p2p_cmd (p2p/p2p.h)
CMD = {"sendcmpct": 16, "cmpctblock": 17, "getblocktxn": 18, "blocktxn": 19,
       "pushreq": 20}


def varint(v):
    if v < 0xfd:
        return bytes([v])
    if v <= 0xffff:
        return b"\xfd" + struct.pack("<H", v)
    return b"\xfe" + struct.pack("<I", v)


def main():
    ex = doc_examples()
    hdr, tx, blk = ex["header"], ex["tx"], ex["block"]
    coinbase = blk[89:]
    gen = hashlib.sha256(hashlib.sha256(hdr).digest()).digest()
    u32 = lambda v: struct.pack("<I", v)   # noqa: E731
    u64 = lambda v: struct.pack("<Q", v)   # noqa: E731
    nonce = u64(0x0102030405060708)
    sid = bytes(range(1, 7))
    msgs = {
        "pushreq_graft": ("pushreq", u32(0x0001) + u32(0)),
        "pushreq_prune": ("pushreq", u32(0) + u32(0x8000)),
        "pushreq_bit16": ("pushreq", u32(0x10000) + u32(0)),
        "pushreq_both": ("pushreq", u32(3) + u32(1)),
        "pushreq_trailing": ("pushreq", u32(1) + u32(0) + b"\0"),
        "sendcmpct_hb1": ("sendcmpct", b"\x01" + u64(1)),
        "sendcmpct_v2": ("sendcmpct", b"\x00" + u64(2)),
        "sendcmpct_hb2": ("sendcmpct", b"\x02" + u64(1)),
        "cmpctblock_sid": ("cmpctblock", hdr + nonce + b"\x01" + sid + b"\x01\x00" + coinbase),
        "cmpctblock_prefilled": ("cmpctblock", hdr + nonce + b"\x01" + sid + b"\x02\x00" +
                                 coinbase + b"\x01" + tx),
        "cmpctblock_dup_sid": ("cmpctblock", hdr + nonce + b"\x02" + sid + sid + b"\x01\x00" +
                               coinbase),
        "cmpctblock_no_prefilled": ("cmpctblock", hdr + nonce + b"\x01" + sid + b"\x00"),
        "cmpctblock_first_index_1": ("cmpctblock", hdr + nonce + b"\x01" + sid + b"\x01\x01" +
                                     coinbase),
        "cmpctblock_index_past": ("cmpctblock", hdr + nonce + b"\x00\x02\x00" + coinbase +
                                  b"\x01" + tx),
        "cmpctblock_sid_cap": ("cmpctblock", hdr + nonce + varint(MAX_TXS) + sid * 4 +
                               b"\x01\x00" + coinbase),
        "cmpctblock_total_cap": ("cmpctblock", hdr + nonce + varint(MAX_TXS - 1) +
                                 b"\0" * 6 * (MAX_TXS - 1) + b"\x02\x00" + coinbase +
                                 b"\x00" + tx),
        "getblocktxn_two": ("getblocktxn", gen + b"\x02\x01\x00"),
        "getblocktxn_last": ("getblocktxn", gen + b"\x01" + varint(MAX_TXS - 1)),
        "getblocktxn_past": ("getblocktxn", gen + b"\x02\x00" + varint(MAX_TXS - 1)),
        "getblocktxn_none": ("getblocktxn", gen + b"\x00"),
        "getblocktxn_short": ("getblocktxn", gen + b"\x03\x00\x00"),
        "getblocktxn_nonminimal": ("getblocktxn", gen + b"\x01\xfd\x01\x00"),
        "blocktxn_one": ("blocktxn", gen + b"\x01" + tx),
        "blocktxn_none": ("blocktxn", gen + b"\x00"),
        "blocktxn_beyond": ("blocktxn", gen + b"\x02" + tx),
        "blocktxn_trailing": ("blocktxn", gen + b"\x01" + tx + b"\0"),
    }
    extra = {
        "getheaders_one": ("getheaders", u32(1) + b"\x01" + gen + b"\0" * 32),
        "getheaders_cap": ("getheaders", u32(1) + b"\x66" + gen * 102 + b"\0" * 32),
        "empty_payload": ("empty", b"\0"),
    }
    d = os.path.join(HERE, "corpus", "p2p_msg")
    for name, (kind, payload) in list(msgs.items()) + list(extra.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([SEL[kind]]) + payload)

    def seq(*ms):
        return b"".join(bytes([CMD[k]]) + struct.pack("<H", len(p)) + p for k, p in ms)

    ok_sc = ("sendcmpct", b"\x01" + u64(1))
    other = bytes([0x11] * 32)
    orphan = hdr[:4] + other + hdr[36:]           # a parent we do not know
    core = {
        "cmpct_getblocktxn": seq(ok_sc, ("getblocktxn", gen + b"\x01\x00"),
                                 ("getblocktxn", gen + b"\x01\x01")),
        "cmpct_genesis": seq(ok_sc, msgs["cmpctblock_sid"]),
        "cmpct_unknown_parent": seq(ok_sc, ("cmpctblock", orphan + nonce + b"\x00\x01\x00" +
                                            coinbase)),
        "cmpct_blocktxn_unsolicited": seq(ok_sc, ("blocktxn", other + b"\x01" + tx)),
        "cmpct_no_sendcmpct": seq(msgs["cmpctblock_sid"], ("getblocktxn", gen + b"\x01\x00")),
        "cmpct_bad_sendcmpct": seq(("sendcmpct", b"\x02" + u64(1))),
        "pushreq_graft_prune": seq(("pushreq", u32(1) + u32(0)), ("pushreq", u32(0) + u32(1)),
                                   ("pushreq", u32(0xffff) + u32(0))),
        "pushreq_malformed": seq(("pushreq", u32(2) + u32(2))),
    }
    d = os.path.join(HERE, "corpus", "p2p_core")
    for name, data in core.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
