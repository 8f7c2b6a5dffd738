//! `oci://` references (`oci::Reference::parse`) and digests on arbitrary
//! text: parsing never panics; a parsed reference prints back to text that
//! parses to the same value (so what toto shows, stores in a Statement or
//! sends to a registry is what it read), keeps a tag or a digest, and its
//! digest prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(digest) = text.parse::<oci::Digest>() {
        assert_eq!(digest.to_string(), text);
        assert_eq!(digest.referrers_tag(), format!("sha256-{}", digest.hex()));
    }
    // With and without the scheme, so the mutator need not find it.
    for input in [text.to_owned(), format!("{}{text}", oci::SCHEME)] {
        let Ok(reference) = oci::Reference::parse(&input) else {
            continue;
        };
        assert!(reference.tag().is_some() || reference.digest().is_some());
        let printed = reference.to_string();
        let again = oci::Reference::parse(&printed)
            .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}, which fails: {e}"));
        assert_eq!(again, reference, "{input:?} printed as {printed:?}");
        assert_eq!(again.to_string(), printed);
        assert_eq!(
            reference.name(),
            format!("{}/{}", reference.registry(), reference.repository())
        );
        if let Some(digest) = reference.digest() {
            let pinned = reference.at_digest(digest);
            assert_eq!(oci::Reference::parse(&pinned.to_string()).ok(), Some(pinned));
        }
    }
});
