//! What a registry serves about an image's referrers, on arbitrary bytes:
//! the referrers listing (the referrers API's index and the tag schema's
//! `sha256-<hex>` index, `oci::referrers::read_listing`) and a referrer's
//! artifact manifest (`oci::referrers::read_referrer`). Reading never
//! panics; a listing holds at most the limit; a referrer is accepted only
//! with the subject asked for and one Sigstore bundle layer; an index
//! toto re-serializes (the tag schema's read-append-write) reads back the
//! same. And toto's own attestation manifest over the bytes as a bundle
//! reads back to a layer of exactly those bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci::model::{self, Descriptor, Index, Manifest};
use oci::referrers::{self, Source};
use oci::Digest;

const MAX: usize = 16;

fuzz_target!(|data: &[u8]| {
    for source in [Source::Api, Source::TagSchema] {
        if let Ok(listed) = referrers::read_listing(data, source, "fuzz", MAX) {
            assert!(listed.len() <= MAX);
        }
    }
    if let Ok(index) = model::parse::<Index>(data, "index", "fuzz") {
        let bytes = model::to_bytes(&index);
        assert_eq!(model::parse::<Index>(&bytes, "index", "fuzz").ok(), Some(index));
    }

    let image = Digest::of(b"image");
    if let Ok(layer) = referrers::read_referrer(data, image, "fuzz") {
        assert!(layer.media_type.starts_with("application/vnd.dev.sigstore.bundle"));
    }
    // The subject the manifest names, so that the accepting path is reached.
    if let Ok(manifest) = model::parse::<Manifest>(data, "manifest", "fuzz") {
        if let Some(named) = manifest.subject.as_ref().and_then(|s| s.sha256("fuzz").ok()) {
            if let Ok(layer) = referrers::read_referrer(data, named, "fuzz") {
                assert_eq!(manifest.layers, vec![layer.clone()]);
                assert!(layer.media_type.starts_with("application/vnd.dev.sigstore.bundle"));
                assert_ne!(named, image);
            }
        }
    }

    let subject = Descriptor::of(model::MANIFEST_MEDIA_TYPE, b"image");
    let ours = referrers::bundle_manifest(&subject, data, "https://example.com/fuzz");
    let layer = referrers::read_referrer(&ours, image, "fuzz").expect("toto's own manifest reads");
    assert_eq!(layer.digest, Digest::of(data).to_string());
    assert_eq!(layer.size, data.len() as u64);
});
