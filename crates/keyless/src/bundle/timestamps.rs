//! A bundle's RFC 3161 timestamps counted as sigstore-go and sigstore-python
//! count them: every timestamp is tried against the trusted root's
//! timestamp authorities; those that verify (signed by an authority, over
//! this bundle's signature, inside the authority's window) are sources of
//! time, the others are not counted, and the bundle then needs at least one
//! source of verified time (these, or a Rekor v1 integrated time bound by a
//! SET): the threshold of 1 both apply. `sigstore-verify` 0.15.1 instead
//! refuses the whole bundle when one timestamp does not verify, e.g. one
//! over other data beside a good one.
//!
//! Duplicates count once: the timestamps one authority signed are one
//! source of time (sigstore-go's `isDuplicateTSA`). The same timestamp
//! bytes twice are malformed before this ([`super::schema`]: one spelling
//! per bundle), as sigstore-python refuses them ("duplicate timestamp
//! found"). More than [`MAX_TIMESTAMPS`] is malformed (both peers' limit).
//! Every verified timestamp is still a time at which the certificate chain
//! must be valid (`sigstore-verify` checks each).

use sigstore_verify::trust_root::TsaAuthority;
use sigstore_verify::types::{Bundle, SignatureContent};

use super::Error;

/// Most RFC 3161 timestamps one bundle may carry (sigstore-go's
/// `maxAllowedTimestamps`, sigstore-python's `MAX_ALLOWED_TIMESTAMP`).
pub const MAX_TIMESTAMPS: usize = 32;

/// `bundle` with only its RFC 3161 timestamps that verify, one per
/// authority; `None` when it keeps all it has (no copy needed).
pub(super) fn verified_only(
    bundle: &Bundle,
    authorities: &[TsaAuthority],
) -> Result<Option<Bundle>, Error> {
    let stamps = &bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps;
    crate::error::at_most(
        "bundle",
        stamps.len(),
        "RFC 3161 timestamps",
        MAX_TIMESTAMPS,
    )?;
    if stamps.is_empty() {
        return Ok(None);
    }
    let signature = match &bundle.content {
        SignatureContent::MessageSignature(m) => &m.signature,
        SignatureContent::DsseEnvelope(e) => &e.signature.sig,
        // sigstore-verify refuses other contents itself.
        _ => return Ok(None),
    };
    let mut kept = Vec::new();
    let mut by: Vec<usize> = Vec::new();
    for stamp in stamps {
        let authority = authorities.iter().position(|authority| {
            sigstore_verify::tsa::verify_timestamp_for_authority(
                &stamp.signed_timestamp,
                signature,
                authority,
            )
            .is_ok()
        });
        if let Some(index) = authority {
            if !by.contains(&index) {
                by.push(index);
                kept.push(stamp.clone());
            }
        }
    }
    if kept.len() == stamps.len() {
        return Ok(None);
    }
    let mut filtered = bundle.clone();
    filtered
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps = kept;
    Ok(Some(filtered))
}
