#!/usr/bin/env python3
"""Recomputes docs/PROTOCOL.md's v2 transport example with an independent
implementation (python3-cryptography, i.e. OpenSSL) from the document's own
description, so the text, the vector and p2p/v2.c cannot drift apart."""
import re
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALICE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
BOB = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
REGTEST_MAGIC = 0x74727367


def doc_hex(doc, name):
    m = re.search(r"```hex " + re.escape(name) + r"\n(.*?)```", doc, re.S)
    assert m, f"no ```hex {name} block in PROTOCOL.md"
    return bytes.fromhex("".join(m.group(1).split()))


def raw(pub):
    from cryptography.hazmat.primitives import serialization
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def nonce(n):
    return struct.pack("<IQ", 0, n)


def seal(len_key, body_key, n, contents):
    # RFC 8439 ChaCha20 with block counter 0: OpenSSL takes counter|nonce.
    ks = Cipher(algorithms.ChaCha20(len_key, struct.pack("<I", 0) + nonce(n)),
                mode=None).encryptor().update(b"\0" * 3)
    lenb = bytes(a ^ b for a, b in zip(struct.pack("<I", len(contents))[:3], ks))
    return lenb + ChaCha20Poly1305(body_key).encrypt(nonce(n), contents, lenb)


def main():
    doc = open("docs/PROTOCOL.md", encoding="utf-8").read()
    a = X25519PrivateKey.from_private_bytes(ALICE)
    b = X25519PrivateKey.from_private_bytes(BOB)
    a_pk, b_pk = raw(a.public_key()), raw(b.public_key())
    shared = a.exchange(b.public_key())
    assert shared == b.exchange(a.public_key())
    okm = HKDF(algorithm=hashes.SHA256(), length=160,
               salt=b"gossipd v2 transport" + struct.pack("<I", REGTEST_MAGIC),
               info=b"keys").derive(shared + a_pk + b_pk)
    i2r_len, i2r_body, session = okm[0:32], okm[32:64], okm[128:160]
    failures = 0
    if session != doc_hex(doc, "v2-session-id"):
        print("v2-session-id differs: independent value", session.hex())
        failures += 1
    hello = seal(i2r_len, i2r_body, 0, bytes([1, 0]))
    ping = seal(i2r_len, i2r_body, 1, bytes([0, 3]) + bytes(range(1, 9)))
    if hello + ping != doc_hex(doc, "v2-initiator-packets"):
        print("v2-initiator-packets differ: independent value", (hello + ping).hex())
        failures += 1
    print(f"v2 vector: {2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
