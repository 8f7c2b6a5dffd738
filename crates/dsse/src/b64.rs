//! Base64 as DSSE uses it.
//!
//! The DSSE spec (`envelope.md`) lets readers accept both the standard and the
//! URL-safe alphabet, padded or not; writers use standard, padded base64.
//! Decoding stays strict otherwise: mixed alphabets, whitespace and
//! non-canonical trailing bits are rejected, so one encoded value has exactly
//! one decoding.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::error::Error;

const LENIENT_PADDING: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(false);
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT_PADDING);
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT_PADDING);

/// Decodes standard or URL-safe base64, padded or not.
///
/// `field` names what is being decoded, for the error.
pub fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    decode_append(field, text, &mut out)?;
    Ok(out)
}

/// [`decode`], appending to `out` (on error, `out` is as it was).
///
/// One alphabet, with no scan for it first: the standard one is tried
/// first and refuses `-` and `_`; then the URL-safe one, which refuses `+`
/// and `/`. Text mixing both is refused by both.
pub fn decode_append(field: &'static str, text: &str, out: &mut Vec<u8>) -> Result<(), Error> {
    let start = out.len();
    if STANDARD_ANY_PAD.decode_vec(text, out).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    URL_SAFE_ANY_PAD.decode_vec(text, out).map_err(|_| {
        out.truncate(start);
        Error::Base64 { field }
    })
}

/// The length [`decode`] yields for `text` when it is valid base64 (for
/// other text, a number it will not yield).
pub fn decoded_len(text: &str) -> usize {
    let digits = text.trim_end_matches('=').len();
    digits / 4 * 3 + [0, 0, 1, 2].get(digits % 4).copied().unwrap_or(0)
}

/// Encodes as standard, padded base64.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Appends `bytes` as standard, padded base64 to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    STANDARD.encode_string(bytes, out);
}

/// The decoded length of `len` characters of base64, rounded up: lets a caller
/// refuse an oversized claim before decoding it.
pub fn decoded_len_upper_bound(len: usize) -> usize {
    len.div_ceil(4).saturating_mul(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_alphabets_with_and_without_padding() {
        let bytes = [0xfbu8, 0xff, 0xbf, 0x01];
        for text in ["+/+/AQ==", "+/+/AQ", "-_-_AQ==", "-_-_AQ"] {
            assert_eq!(decode("t", text).unwrap(), bytes, "{text}");
        }
        assert_eq!(encode(&bytes), "+/+/AQ==");
    }

    #[test]
    fn rejects_mixed_alphabets_garbage_and_noncanonical_bits() {
        for text in ["+_AA", "-/AA", "ab$d", "aGVsbG8gd29ybGQ=\n", "QR==", "a"] {
            assert!(decode("t", text).is_err(), "{text:?} should be rejected");
            let mut out = vec![7];
            assert!(decode_append("t", text, &mut out).is_err());
            assert_eq!(out, [7], "{text:?} left output behind");
        }
    }

    #[test]
    fn decoded_len_is_what_decode_yields() {
        for len in 0..12 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let padded = encode(&bytes);
            for text in [padded.as_str(), padded.trim_end_matches('=')] {
                assert_eq!(decoded_len(text), len, "{text}");
                let mut out = vec![9];
                decode_append("t", text, &mut out).unwrap();
                assert_eq!(out[1..], bytes[..]);
            }
        }
    }
}
