// Attaches a Sigstore bundle to an image as an OCI 1.1 referrer with
// @sigstore/oci's attachArtifactToImage, called as GitHub's attest action
// (actions/attest with push-to-registry) calls it: the bundle's JSON as the
// artifact, its media type, and the annotations dev.sigstore.bundle.content
// and dev.sigstore.bundle.predicateType.
//
//   node oci-attach.js REGISTRY/REPO sha256:HEX BUNDLE PREDICATE_TYPE
//
// @sigstore/oci speaks plain HTTP to 127.0.0.1 and localhost (HTTPS
// elsewhere); without credentials it signs in to nothing. Where the
// registry answers 404 to the referrers API it appends the artifact to the
// referrers tag schema's index (`sha256-<hex>`). Prints the artifact
// manifest's descriptor as JSON; exit 1 when the registry refuses, 2 on bad
// usage.
'use strict';
const fs = require('fs');
const { attachArtifactToImage } = require('@sigstore/oci');

const [imageName, imageDigest, bundlePath, predicateType] = process.argv.slice(2);
if (!predicateType) {
  console.error('usage: node oci-attach.js REGISTRY/REPO sha256:HEX BUNDLE PREDICATE_TYPE');
  process.exit(2);
}

(async () => {
  const artifact = fs.readFileSync(bundlePath);
  const mediaType = JSON.parse(artifact.toString('utf8')).mediaType;
  const descriptor = await attachArtifactToImage({
    imageName,
    imageDigest,
    artifact,
    mediaType,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
    },
    credentials: undefined,
    fetchOpts: { retry: 0 },
  });
  console.log(JSON.stringify(descriptor));
})().catch((e) => {
  console.error(`FAIL: ${e.message || e}${e.cause ? `: ${e.cause.message || e.cause}` : ''}`);
  process.exit(1);
});
