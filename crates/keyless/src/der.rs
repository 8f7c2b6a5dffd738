//! Just enough DER for what the crate builds and takes apart by hand: RFC
//! 3161 requests and answers when signing, a precertificate when verifying
//! an SCT. Certificates themselves are read by x509-cert and webpki.

/// One element of `input`: `(tag, whole encoding, content, what follows)`.
/// `None` when it is truncated, uses a high tag number, or a length form
/// DER forbids (indefinite, non-minimal, over 2^24).
#[allow(clippy::type_complexity)]
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x83 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if bytes.first() == Some(&0) || len < 0x80 {
                return None;
            }
            (len, rest)
        }
        _ => return None,
    };
    let (content, after) = rest.split_at_checked(len)?;
    let whole = input.get(..input.len() - after.len())?;
    Some((tag, whole, content, after))
}

/// Appends the header of an element with `len` content bytes.
pub(crate) fn header(tag: u8, len: usize, out: &mut Vec<u8>) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// The element `tag` with `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    header(tag, content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_minimal() {
        for (len, want) in [
            (0, vec![0x30, 0]),
            (0x7f, vec![0x30, 0x7f]),
            (0x80, vec![0x30, 0x81, 0x80]),
            (0xff, vec![0x30, 0x81, 0xff]),
            (0x100, vec![0x30, 0x82, 1, 0]),
            (0x1_0000, vec![0x30, 0x83, 1, 0, 0]),
        ] {
            let mut out = Vec::new();
            header(0x30, len, &mut out);
            assert_eq!(out, want, "{len}");
            let content = vec![7; len];
            let encoded = tlv(0x30, &content);
            assert_eq!(
                element(&encoded),
                Some((0x30, &encoded[..], &content[..], &[][..]))
            );
        }
    }

    #[test]
    fn forbidden_forms_are_refused() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x30],                      // truncated
            &[0x30, 0x81, 0x05, 0, 0, 0, 0, 0],       // long form for a short length
            &[0x30, 0x82, 0x00, 0x05, 0, 0, 0, 0, 0], // leading zero
            &[0x30, 0x80, 0, 0],                      // indefinite
            &[0x30, 0x84, 0, 0, 0, 1, 0],             // over 2^24
            &[0x3f, 0x01, 0x00],                      // high tag number
        ] {
            assert_eq!(element(bad), None, "{bad:02x?}");
        }
    }
}
