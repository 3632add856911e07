//! Lenient re-encoding of the session-key packets that old or buggy
//! implementations write and GnuPG accepts: RSA PKESK packets whose MPI has
//! a wrong bit count or leading zero bytes (seen in rnp's test vectors).
//! Sequoia rejects them as malformed; the value itself is fine, so the
//! packet is rewritten with a canonical MPI and decryption is tried again.
//! Nothing else in the message is touched.

use std::io::Read;

use openpgp::armor::{Kind, Reader, ReaderMode};
use sequoia_openpgp as openpgp;

/// At most this much input is re-encoded (session-key packets are small;
/// the encrypted data after them is copied unchanged).
const MAX_INPUT: u64 = 256 << 20;

/// A packet header: (tag, header length, body length). Only definite
/// lengths are handled; anything else ends the rewrite.
fn header(data: &[u8]) -> Option<(u8, usize, usize)> {
    let ctb = *data.first()?;
    if ctb & 0x80 == 0 {
        return None;
    }
    if ctb & 0x40 != 0 {
        let tag = ctb & 0x3f;
        let first = *data.get(1)? as usize;
        match first {
            0..=191 => Some((tag, 2, first)),
            192..=223 => {
                let second = *data.get(2)? as usize;
                Some((tag, 3, ((first - 192) << 8) + second + 192))
            }
            255 => {
                let b = data.get(2..6)?;
                let len = u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]);
                Some((tag, 6, len as usize))
            }
            _ => None, // partial body length
        }
    } else {
        let tag = (ctb >> 2) & 0x0f;
        match ctb & 0x03 {
            0 => Some((tag, 2, *data.get(1)? as usize)),
            1 => {
                let b = data.get(1..3)?;
                Some((
                    tag,
                    3,
                    u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize,
                ))
            }
            2 => {
                let b = data.get(1..5)?;
                let len = u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]);
                Some((tag, 5, len as usize))
            }
            _ => None,
        }
    }
}

/// A new-format header for `len` bytes of body.
fn new_header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![0xc0 | tag];
    if len < 192 {
        out.push(len as u8);
    } else if len < 8384 {
        let l = len - 192;
        out.push(((l >> 8) as u8).saturating_add(192));
        out.push((l & 0xff) as u8);
    } else {
        out.push(255);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out
}

/// An RSA v3 PKESK body with its MPI made canonical; `None` if it is not
/// one or needs no change.
fn canonical_rsa_pkesk(body: &[u8]) -> Option<Vec<u8>> {
    let (&version, rest) = body.split_first()?;
    let algo = *rest.get(8)?;
    if version != 3 || !(algo == 1 || algo == 2) {
        return None;
    }
    // The MPI is the last field: its value is every remaining byte,
    // whatever the (possibly wrong) bit count says.
    let value = body.get(12..)?;
    let skip = value.iter().take_while(|&&b| b == 0).count();
    let value = value.get(skip..)?;
    let top = *value.first()?;
    let bits = value.len() * 8 - top.leading_zeros() as usize;
    let bits = u16::try_from(bits).ok()?;
    let mut out = body.get(..10)?.to_vec();
    out.extend_from_slice(&bits.to_be_bytes());
    out.extend_from_slice(value);
    (out != body).then_some(out)
}

/// The message with its RSA session-key packets re-encoded, or `None` when
/// there was nothing to repair.
pub fn repair_pkesk_mpis(message: &[u8]) -> Option<Vec<u8>> {
    let binary = if message
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| message.get(i..))
        .is_some_and(|m| m.starts_with(b"-----BEGIN PGP"))
    {
        let mut out = Vec::new();
        Reader::from_bytes(message, ReaderMode::Tolerant(Some(Kind::Message)))
            .take(MAX_INPUT)
            .read_to_end(&mut out)
            .ok()?;
        out
    } else {
        message.to_vec()
    };
    let mut out = Vec::with_capacity(binary.len());
    let mut pos = 0;
    let mut changed = false;
    while let Some(rest) = binary.get(pos..) {
        let Some((tag, hlen, blen)) = header(rest) else {
            break;
        };
        if tag != 1 && tag != 3 {
            break;
        }
        let Some(packet) = rest.get(..hlen + blen) else {
            break;
        };
        let body = packet.get(hlen..).unwrap_or(&[]);
        match (tag, canonical_rsa_pkesk(body)) {
            (1, Some(fixed)) => {
                out.extend(new_header(1, fixed.len()));
                out.extend(fixed);
                changed = true;
            }
            _ => out.extend_from_slice(packet),
        }
        pos += hlen + blen;
    }
    out.extend_from_slice(binary.get(pos..).unwrap_or(&[]));
    changed.then_some(out)
}
