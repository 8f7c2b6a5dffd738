"""The ORAS Python SDK (oras, pinned in scripts/requirements-peers.txt) as a
peer of toto's image attestations, against a registry on 127.0.0.1 over
plain HTTP.

    python oras_peer.py attach HOST REPO sha256:HEX BUNDLE PREDICATE_TYPE
    python oras_peer.py discover HOST REPO sha256:HEX OUT_DIR

attach: pushes the bundle as an OCI 1.1 artifact whose subject is the image
(artifactType and layer media type the bundle's, config the empty
descriptor, the annotations gh and cosign write), with oras-py's
upload_blob / upload_manifest. oras-py 0.2 neither sets artifactType in
Registry.push nor maintains the referrers tag schema, so the manifest is
built here from oras.oci's pieces and, when the registry answers 404 to the
referrers API, the `sha256-<hex>` index is read, appended to and written
here through oras-py's authenticated do_request. Prints the artifact
manifest's descriptor as JSON.

discover: oras-py 0.2 has no referrers call either: reads the referrers API,
else the tag schema's index (oras-py's get_manifest), then each Sigstore
bundle referrer's manifest and its layer (download_blob), digest checked.
Writes each bundle to OUT_DIR/<referrer hex>.json and prints
{"source": "api"|"tag", "referrers": [...]}.

Exit 1 when the registry fails or serves a wrong digest, 2 on bad usage.
"""

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict

import oras.defaults
import oras.oci
import oras.provider

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def client(host: str) -> oras.provider.Registry:
    return oras.provider.Registry(hostname=host, insecure=True)


def referrers_api(reg, host, repo, digest):
    """The referrers API's index, or None when the registry has none (404)."""
    url = f"{reg.prefix}://{host}/v2/{repo}/referrers/{digest}"
    response = reg.do_request(url, "GET", headers={"Accept": INDEX})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def tag_schema_index(reg, host, repo, digest):
    """The tag schema's index (`sha256-<hex>`), or an empty one."""
    tag = digest.replace(":", "-")
    url = f"{reg.prefix}://{host}/v2/{repo}/manifests/{tag}"
    response = reg.do_request(url, "GET", headers={"Accept": INDEX})
    if response.status_code == 404:
        return {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
    response.raise_for_status()
    return response.json()


def attach(host, repo, digest, bundle_path, predicate_type):
    reg = client(host)
    image = reg.get_container(f"{host}/{repo}@{digest}")
    head = reg.do_request(
        f"{reg.prefix}://{image.manifest_url()}",
        "HEAD",
        headers={"Accept": ", ".join(oras.defaults.default_manifest_accepted_media_types)},
    )
    head.raise_for_status()
    subject = oras.oci.Subject(
        mediaType=head.headers["Content-Type"],
        digest=digest,
        size=int(head.headers["Content-Length"]),
    )
    with open(bundle_path, "rb") as f:
        media_type = json.loads(f.read())["mediaType"]
    layer = oras.oci.NewLayer(bundle_path, media_type=media_type)
    reg._check_200_response(reg.upload_blob(bundle_path, image, layer))
    config, _ = oras.oci.ManifestConfig(None, EMPTY)
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "config.json")
        with open(empty, "wb") as f:
            f.write(b"{}")
        reg._check_200_response(reg.upload_blob(empty, image, config))
    annotations = {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": predicate_type,
    }
    manifest = oras.oci.NewManifest()
    manifest.update(
        artifactType=media_type,
        config=config,
        layers=[layer],
        subject=asdict(subject),
        annotations=annotations,
    )
    # upload_manifest sends requests' JSON of the dict: the same bytes here.
    body = json.dumps(manifest).encode()
    artifact = reg.get_container(f"{host}/{repo}@{sha256(body)}")
    response = reg.upload_manifest(manifest, artifact)
    reg._check_200_response(response)
    pushed = response.headers.get("Docker-Content-Digest")
    if pushed != sha256(body):
        raise RuntimeError(f"the registry stored {pushed}, not {sha256(body)}")
    descriptor = {
        "mediaType": MANIFEST,
        "digest": pushed,
        "size": len(body),
        "artifactType": media_type,
        "annotations": annotations,
    }
    if referrers_api(reg, host, repo, digest) is None:
        index = tag_schema_index(reg, host, repo, digest)
        if not any(d.get("digest") == pushed for d in index["manifests"]):
            index["manifests"].append(descriptor)
            tag = digest.replace(":", "-")
            put = reg.do_request(
                f"{reg.prefix}://{host}/v2/{repo}/manifests/{tag}",
                "PUT",
                data=json.dumps(index).encode(),
                headers={"Content-Type": INDEX},
            )
            reg._check_200_response(put)
    print(json.dumps(descriptor))


def discover(host, repo, digest, out_dir):
    reg = client(host)
    listing = referrers_api(reg, host, repo, digest)
    source = "api"
    if listing is None:
        source = "tag"
        listing = tag_schema_index(reg, host, repo, digest)
    found = []
    for entry in listing.get("manifests", []):
        if not str(entry.get("artifactType", "")).startswith(BUNDLE_PREFIX):
            continue
        referrer = reg.get_container(f"{host}/{repo}@{entry['digest']}")
        manifest = reg.get_manifest(referrer)
        if (manifest.get("subject") or {}).get("digest") != digest:
            raise RuntimeError(f"referrer {entry['digest']} does not name the image")
        (layer,) = manifest["layers"]
        out = os.path.join(out_dir, entry["digest"].split(":", 1)[1] + ".json")
        reg.download_blob(referrer, layer["digest"], out)
        with open(out, "rb") as f:
            if sha256(f.read()) != layer["digest"]:
                raise RuntimeError(f"blob {layer['digest']} is not its digest")
        found.append(
            {
                "digest": entry["digest"],
                "artifactType": manifest.get("artifactType"),
                "annotations": manifest.get("annotations") or {},
                "layerMediaType": layer["mediaType"],
                "layerDigest": layer["digest"],
                "file": out,
            }
        )
    print(json.dumps({"source": source, "referrers": found}))


def main(argv):
    try:
        if len(argv) == 6 and argv[0] == "attach":
            attach(*argv[1:])
        elif len(argv) == 5 and argv[0] == "discover":
            discover(*argv[1:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Exception as e:  # the reason, for the test's message
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
