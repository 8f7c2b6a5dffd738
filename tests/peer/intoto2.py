"""in-toto 2.x as a peer: signs a layout and its links with the legacy
securesystemslib keys (RSA PEM, ed25519 and ECDSA key files), as
`in-toto-run --key` and `in-toto-sign --key` do, so that every key id in the
metadata is a legacy id (with keyid_hash_algorithms).

    intoto2.py make DIR [dsse]   writes DIR/{owner, owner.pub, root.layout, *.link, foo.py}

With `dsse`, the layout and the links are classic ones inside DSSE envelopes
(`in-toto-run --use-dsse`), else Metablocks.

Run with the in-toto 2.x venv (scripts/test makes it: .venv-intoto2).
"""

import os
import sys

from in_toto.models.layout import Layout, Step
from in_toto.models.metadata import Envelope, Metablock
from in_toto.runlib import in_toto_run
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib import interface, keys as sslib_keys
from securesystemslib.signer import SSlibSigner


def write_ecdsa_pem(path):
    key = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )


def load_ecdsa_pem(path):
    with open(path) as f:
        return sslib_keys.import_ecdsakey_from_private_pem(f.read())


def make(out, dsse):
    os.chdir(out)
    interface.generate_and_write_unencrypted_rsa_keypair("owner")
    owner = interface.import_rsa_privatekey_from_file("owner")
    keys = {
        "rsa": (
            interface.generate_and_write_unencrypted_rsa_keypair,
            interface.import_rsa_privatekey_from_file,
        ),
        "ed25519": (
            interface.generate_and_write_unencrypted_ed25519_keypair,
            interface.import_ed25519_privatekey_from_file,
        ),
        # securesystemslib 0.31's own ECDSA key generation fails on current
        # pyca/cryptography; its PEM import builds the same legacy key dict.
        "ecdsa": (write_ecdsa_pem, load_ecdsa_pem),
    }
    with open("foo.py", "w") as f:
        f.write("print('hello')\n")
    layout = Layout()
    layout.set_relative_expiration(months=1)
    for kind, (generate, load) in keys.items():
        generate(kind)
        key = load(kind)
        public = {k: v for k, v in key.items() if k != "keyval"}
        public["keyval"] = {"public": key["keyval"]["public"]}
        layout.keys[key["keyid"]] = public
        name = "build-" + kind
        step = Step(name=name)
        step.pubkeys = [key["keyid"]]
        step.expected_materials = [["ALLOW", "foo.py"], ["DISALLOW", "*"]]
        step.expected_products = [["ALLOW", "foo.py"], ["DISALLOW", "*"]]
        layout.steps.append(step)
        link = in_toto_run(
            name, ["foo.py"], ["foo.py"], [], signing_key=key, use_dsse=dsse
        )
        link.dump(name + "." + key["keyid"][:8] + ".link")
    if dsse:
        envelope = Envelope.from_signable(layout)
        envelope.create_signature(SSlibSigner(owner))
        envelope.dump("root.layout")
    else:
        metablock = Metablock(signed=layout)
        metablock.sign(owner)
        metablock.dump("root.layout")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "make":
        sys.exit(__doc__)
    if len(sys.argv) == 4 and sys.argv[3] != "dsse":
        sys.exit(__doc__)
    make(sys.argv[2], len(sys.argv) == 4)
