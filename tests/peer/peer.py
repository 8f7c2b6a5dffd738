#!/usr/bin/env python3
"""The Python reference as a peer for toto's interop tests.

Every subcommand prints JSON on stdout and exits 0 on success, 1 when a
verification fails, 2 on usage or input errors. It uses only the public APIs
of in-toto 3.1.0, securesystemslib and sigstore 4.5.1 (as pinned in
scripts/requirements-peers.txt).
"""
import argparse
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.dsse import Envelope as SSlibEnvelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from in_toto.models.layout import Layout
from in_toto.models.link import Link
from in_toto.models.metadata import Envelope, Metablock, Metadata


def public_key(path):
    with open(path, "rb") as f:
        return SSlibKey.from_crypto(serialization.load_pem_public_key(f.read()))


def key_dict(key):
    d = key.to_dict()
    d["keyid"] = key.keyid
    return d


def signer(path, password):
    with open(path, "rb") as f:
        pw = password.encode() if password is not None else None
        return CryptoSigner(serialization.load_pem_private_key(f.read(), pw))


def cmd_dsse_verify(args):
    with open(args.envelope) as f:
        env = SSlibEnvelope.from_dict(json.load(f))
    keys = [public_key(p) for p in args.keys]
    try:
        verified = env.verify(keys, len(keys))
    except Exception as e:  # VerificationError
        print(json.dumps({"verified": False, "error": str(e)}))
        return 1
    print(json.dumps({"verified": True, "keyids": sorted(verified), "payloadType": env.payload_type}))
    return 0


def cmd_sigstore_verify_dsse(args):
    """sigstore-python's `Verifier.verify_dsse`: a DSSE bundle verified
    without an artifact (no subject binding), against a trust config."""
    from sigstore.models import Bundle, ClientTrustConfig
    from sigstore.verify import Verifier, policy

    with open(args.trust_config) as f:
        config = ClientTrustConfig.from_json(f.read())
    with open(args.bundle) as f:
        bundle = Bundle.from_json(f.read())
    verifier = Verifier(trusted_root=config.trusted_root)
    try:
        payload_type, payload = verifier.verify_dsse(
            bundle, policy.Identity(identity=args.identity, issuer=args.issuer)
        )
    except Exception as e:  # VerificationError and its kin
        print(json.dumps({"verified": False, "error": str(e)}))
        return 1
    print(json.dumps({"verified": True, "payloadType": payload_type, "payload": payload.decode()}))
    return 0


def cmd_metadata_verify(args):
    md = Metadata.load(args.file)
    for path in args.keys:
        key = public_key(path)
        try:
            md.verify_signature(key_dict(key))
        except Exception as e:
            print(json.dumps({"verified": False, "keyid": key.keyid, "error": repr(e)}))
            return 1
    payload = md.get_payload()
    print(json.dumps({"verified": True, "type": payload._type, "kind": type(md).__name__}))
    return 0


def cmd_dsse_sign(args):
    with open(args.input, "rb") as f:
        env = SSlibEnvelope(f.read(), args.payload_type, {})
    env.sign(signer(args.key, args.password))
    with open(args.output, "w") as f:
        json.dump(env.to_dict(), f)
    return 0


def cmd_metadata_sign(args):
    with open(args.input) as f:
        data = json.load(f)
    signable = Layout.read(data) if data.get("_type") == "layout" else Link.read(data)
    md = Envelope.from_signable(signable) if args.format == "dsse" else Metablock(signed=signable)
    md.create_signature(signer(args.key, args.password))
    md.dump(args.output)
    return 0


def cmd_keyid(args):
    print(json.dumps(key_dict(public_key(args.key))))
    return 0


def cmd_load_private(args):
    s = signer(args.key, args.password)
    print(json.dumps({"keyid": s.public_key.keyid}))
    return 0


def cmd_gpg_layout(args):
    """A layout (signed by OWNER_PEM) whose step's functionary is an OpenPGP key."""
    from datetime import datetime, timedelta, timezone
    from in_toto.models.layout import Layout, Step

    layout = Layout()
    layout.expires = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = layout.add_functionary_key_from_gpg_keyid(args.fingerprint, args.gpg_home)
    step = Step(name=args.step)
    step.pubkeys = [key["keyid"]]
    step.expected_products = [["ALLOW", "*"]]
    layout.steps = [step]
    md = Metablock(signed=layout)
    md.create_signature(signer(args.owner, None))
    md.dump(args.output)
    print(json.dumps({"keyid": key["keyid"]}))
    return 0


def cmd_gen_keys(args):
    os.makedirs(args.outdir, exist_ok=True)
    keys = {
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=3072),
    }
    out = {}
    for name, key in keys.items():
        priv = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with open(os.path.join(args.outdir, name + ".pem"), "wb") as f:
            f.write(priv)
        with open(os.path.join(args.outdir, name + ".pub"), "wb") as f:
            f.write(pub)
        out[name] = SSlibKey.from_crypto(key.public_key()).keyid
    print(json.dumps(out))
    return 0


REQUIRED = {"required": True}
SOME = {"nargs": "+"}

# Each subcommand: its function, and its arguments (a name, or a name and
# argparse's options for it).
SUBCOMMANDS = {
    "dsse-verify": (cmd_dsse_verify, ["envelope", ("keys", SOME)]),
    "sigstore-verify-dsse": (
        cmd_sigstore_verify_dsse,
        ["trust_config", "bundle", "identity", "issuer"],
    ),
    "metadata-verify": (cmd_metadata_verify, ["file", ("keys", SOME)]),
    "dsse-sign": (
        cmd_dsse_sign,
        [("--key", REQUIRED), "--password", ("--payload-type", REQUIRED), "input", "output"],
    ),
    "metadata-sign": (
        cmd_metadata_sign,
        [
            ("--key", REQUIRED),
            "--password",
            ("--format", {"choices": ["dsse", "metablock"], "required": True}),
            "input",
            "output",
        ],
    ),
    "keyid": (cmd_keyid, ["key"]),
    "load-private": (cmd_load_private, ["key", "--password"]),
    "gpg-layout": (
        cmd_gpg_layout,
        [
            ("--owner", REQUIRED),
            ("--fingerprint", REQUIRED),
            ("--gpg-home", REQUIRED),
            ("--step", REQUIRED),
            "output",
        ],
    ),
    "gen-keys": (cmd_gen_keys, ["outdir"]),
}


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (fn, arguments) in SUBCOMMANDS.items():
        p = sub.add_parser(name)
        for argument in arguments:
            flag, options = argument if isinstance(argument, tuple) else (argument, {})
            p.add_argument(flag, **options)
        p.set_defaults(fn=fn)
    args = parser.parse_args()
    try:
        return args.fn(args)
    except SystemExit:
        raise
    except Exception as e:
        print(json.dumps({"error": repr(e)}))
        return 2


if __name__ == "__main__":
    sys.exit(main())
