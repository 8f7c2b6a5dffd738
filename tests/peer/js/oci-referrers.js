// Lists the Sigstore bundles attached to an image and fetches each, as a
// client of @sigstore/oci would. @sigstore/oci exports no reader (only
// attachArtifactToImage and getImageDigest), so this uses its RegistryClient
// (dist/registry.js): pingReferrers to pick the referrers API or the
// referrers tag schema as attachArtifactToImage does, getManifest for the
// listing and each referrer's manifest; the bundle blob, which
// RegistryClient cannot GET, with node's fetch, its digest checked here.
//
//   node oci-referrers.js REGISTRY/REPO sha256:HEX OUT_DIR
//
// Writes each bundle to OUT_DIR/<referrer manifest hex>.json and prints one
// JSON line: {"source": "api"|"tag", "referrers": [{digest, artifactType,
// annotations, layerMediaType, layerDigest, file}]}. Exit 1 when the
// registry fails or serves a blob that is not its digest, 2 on bad usage.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { RegistryClient } = require('@sigstore/oci/dist/registry');

const [imageName, imageDigest, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node oci-referrers.js REGISTRY/REPO sha256:HEX OUT_DIR');
  process.exit(2);
}
const slash = imageName.indexOf('/');
const registry = imageName.slice(0, slash);
const repository = imageName.slice(slash + 1);
const sha256 = (bytes) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

(async () => {
  const client = new RegistryClient(registry, repository, { retry: 0 });
  const api = await client.pingReferrers();
  const listing = await client.getManifest(api ? `../referrers/${imageDigest}` : imageDigest.replace(':', '-'));
  const referrers = [];
  for (const entry of listing.body.manifests) {
    if (!String(entry.artifactType || '').startsWith('application/vnd.dev.sigstore.bundle')) continue;
    const manifest = (await client.getManifest(entry.digest)).body;
    if (!manifest.subject || manifest.subject.digest !== imageDigest) {
      throw new Error(`referrer ${entry.digest} does not name the image as its subject`);
    }
    const [layer] = manifest.layers;
    const protocol = registry.startsWith('127.0.0.1') || registry.startsWith('localhost') ? 'http' : 'https';
    const response = await fetch(`${protocol}://${registry}/v2/${repository}/blobs/${layer.digest}`);
    if (response.status !== 200) throw new Error(`blob ${layer.digest}: HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (sha256(bytes) !== layer.digest) throw new Error(`blob ${layer.digest} is not its digest`);
    const file = path.join(outDir, `${entry.digest.slice('sha256:'.length)}.json`);
    fs.writeFileSync(file, bytes);
    referrers.push({
      digest: entry.digest,
      artifactType: manifest.artifactType,
      annotations: manifest.annotations || {},
      layerMediaType: layer.mediaType,
      layerDigest: layer.digest,
      file,
    });
  }
  console.log(JSON.stringify({ source: api ? 'api' : 'tag', referrers }));
})().catch((e) => {
  console.error(`FAIL: ${e.message || e}${e.cause ? `: ${e.cause.message || e.cause}` : ''}`);
  process.exit(1);
});
