// Verifies a Sigstore bundle with sigstore-js (@sigstore/verify), given a
// trusted root file: what toto's e2e tests use as a second, independent
// verifier of the bundles toto signs against its testbed.
//
//   node verify.js TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER
//
// Exit 0 when the bundle verifies for the artifact and identity, 1 when it
// does not (the reason on stderr), 2 on bad usage.
'use strict';
const fs = require('fs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const [rootPath, bundlePath, artifactPath, identity, issuer] = process.argv.slice(2);
if (!issuer) {
  console.error('usage: node verify.js TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER');
  process.exit(2);
}
try {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, 'utf8')));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const verifier = new Verifier(toTrustMaterial(root));
  const signer = verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)), {
    subjectAlternativeName: identity,
    extensions: { issuer },
  });
  console.log(`OK: ${bundlePath}: ${signer.identity ? signer.identity.subjectAlternativeName : "key"}`);
} catch (e) {
  console.error(`FAIL: ${bundlePath}: ${e.message || e}`);
  process.exit(1);
}
