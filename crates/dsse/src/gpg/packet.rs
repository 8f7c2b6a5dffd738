//! The RFC 4880 packet layer: a bounds-checked reader, packets with their
//! tags, and signature subpackets.

use super::MAX_SUBPACKETS;
use crate::error::Error;

/// A bounds-checked cursor over packet bytes: every read is checked, a
/// short read is "truncated".
pub(super) struct Reader<'a> {
    pub(super) rest: &'a [u8],
    pub(super) what: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8], what: &'static str) -> Self {
        Reader { rest: data, what }
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, rest) = self
            .rest
            .split_at_checked(n)
            .ok_or(Error::malformed(self.what, "truncated"))?;
        self.rest = rest;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let what = self.what;
        self.take(N)?
            .try_into()
            .map_err(|_| Error::malformed(what, "truncated"))
    }

    pub(super) fn u8(&mut self) -> Result<u8, Error> {
        let [b] = self.array()?;
        Ok(b)
    }

    /// The packet's version octet, which must be 4 (the only version the
    /// reference reads); `version` names the field in the refusal.
    pub(super) fn version_4(&mut self, version: &'static str) -> Result<(), Error> {
        match self.u8()? {
            4 => Ok(()),
            value => Err(Error::UnsupportedOpenPgp {
                what: version,
                value,
            }),
        }
    }

    pub(super) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(super) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(super) fn len32(&mut self) -> Result<usize, Error> {
        let what = self.what;
        usize::try_from(self.u32()?).map_err(|_| Error::malformed(what, "length too large"))
    }

    /// A multiprecision integer: a 16-bit bit count, then its bytes.
    pub(super) fn mpi(&mut self) -> Result<&'a [u8], Error> {
        let bits = usize::from(self.u16()?);
        if bits == 0 {
            return Err(Error::malformed(self.what, "empty MPI"));
        }
        self.take(bits.div_ceil(8))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(super) fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::malformed(self.what, "trailing data"))
        }
    }
}

/// One packet (RFC 4880 section 4.2): its tag and body. Partial and
/// indeterminate lengths are refused, as in the reference.
pub(super) fn read_packet<'a>(r: &mut Reader<'a>) -> Result<(u8, &'a [u8]), Error> {
    let first = r.u8()?;
    if first & 0x80 == 0 {
        return Err(Error::malformed(r.what, "not an OpenPGP packet header"));
    }
    let (tag, len) = if first & 0x40 != 0 {
        let len = match r.u8()? {
            b0 @ 0..=191 => usize::from(b0),
            b0 @ 192..=223 => ((usize::from(b0) - 192) << 8) + usize::from(r.u8()?) + 192,
            255 => r.len32()?,
            _ => {
                return Err(Error::malformed(
                    r.what,
                    "partial body lengths are not supported",
                ))
            }
        };
        (first & 0x3f, len)
    } else {
        let len = match first & 0x03 {
            0 => usize::from(r.u8()?),
            1 => usize::from(r.u16()?),
            2 => r.len32()?,
            _ => {
                return Err(Error::malformed(
                    r.what,
                    "indeterminate lengths are not supported",
                ))
            }
        };
        ((first & 0x3c) >> 2, len)
    };
    Ok((tag, r.take(len)?))
}

/// Signature subpackets (RFC 4880 section 5.2.3.1): type and body. The type
/// byte is kept whole (critical bit included), as the reference does.
pub(super) fn read_subpackets(data: &[u8]) -> Result<Vec<(u8, &[u8])>, Error> {
    let mut r = Reader::new(data, "OpenPGP signature subpacket");
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_SUBPACKETS {
            return Err(Error::TooMany {
                what: "OpenPGP signature subpackets",
                limit: MAX_SUBPACKETS,
                actual: out.len() + 1,
            });
        }
        let len = match r.u8()? {
            b0 @ 0..=191 => usize::from(b0),
            b0 @ 192..=254 => ((usize::from(b0) - 192) << 8) + usize::from(r.u8()?) + 192,
            255 => r.len32()?,
        };
        let body = r.take(len)?;
        let (&kind, payload) = body
            .split_first()
            .ok_or(Error::malformed(r.what, "empty subpacket"))?;
        out.push((kind, payload));
    }
    Ok(out)
}
