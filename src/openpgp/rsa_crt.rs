//! RSA secret keys prepared once for the Chinese remainder theorem.
//!
//! Sequoia's OpenSSL backend rebuilds the RSA key from (n, e, d) for every
//! session-key packet, so OpenSSL can neither use CRT (two half-size
//! exponentiations, 3–4× cheaper for RSA-4096) nor keep its Montgomery
//! contexts. [`RsaCrt`] builds one OpenSSL key from n, e, d, p, q, dP, dQ
//! and qInv when the keyring is built, and decrypts PKCS#1 v1.5 session
//! keys with it: one private-key operation per packet, with OpenSSL's
//! blinding and constant-time flags on the secret numbers (`RSA_set0_*`
//! sets them), as sequoia's backend has.
//!
//! OpenPGP stores p < q and u = p⁻¹ mod q; OpenSSL's qInv is q⁻¹ mod p for
//! its own (p, q). Handing OpenSSL OpenPGP's q as its p and OpenPGP's p as
//! its q makes u exactly OpenSSL's qInv; the key is checked (n = p·q,
//! q·qInv ≡ 1 mod p, and one round trip) before it replaces sequoia's.

use openpgp::crypto::mem::Protected;
use openpgp::crypto::{mpi, Decryptor, SessionKey};
use openpgp::packet::key::{PublicParts, SecretParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::types::PublicKeyAlgorithm;
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::error::ErrorStack;
use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};
use sequoia_openpgp as openpgp;

/// One RSA secret key ready for CRT decryption. Decrypting takes `&self`:
/// OpenSSL's RSA is safe to use from several threads at once.
pub struct RsaCrt {
    public: Key<PublicParts, UnspecifiedRole>,
    rsa: Rsa<Private>,
}

impl std::fmt::Debug for RsaCrt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaCrt({})", self.public.fingerprint())
    }
}

impl RsaCrt {
    /// Prepares an unencrypted RSA secret key. `Ok(None)` for keys of
    /// other algorithms; `Err` (no secret in it) when the numbers do not
    /// form a valid CRT key, so the caller keeps sequoia's decryptor.
    pub fn prepare(key: &Key<SecretParts, UnspecifiedRole>) -> Result<Option<RsaCrt>, String> {
        #[allow(deprecated)]
        if !matches!(
            key.pk_algo(),
            PublicKeyAlgorithm::RSAEncryptSign | PublicKeyAlgorithm::RSAEncrypt
        ) {
            return Ok(None);
        }
        let mpi::PublicKey::RSA { e, n } = key.mpis() else {
            return Ok(None);
        };
        let openpgp::packet::key::SecretKeyMaterial::Unencrypted(secret) = key.secret() else {
            return Err("the secret key is still encrypted".into());
        };
        let rsa = secret.map(|mpis| match mpis {
            mpi::SecretKeyMaterial::RSA { d, p, q, u } => build(
                n.value(),
                e.value(),
                d.value(),
                q.value(),
                p.value(),
                u.value(),
            ),
            _ => Err("the secret numbers are not RSA's".into()),
        })?;
        let prepared = RsaCrt {
            public: key.parts_as_public().clone(),
            rsa,
        };
        prepared.round_trip()?;
        Ok(Some(prepared))
    }

    /// One PKCS#1 v1.5 private-key operation on an RSA session-key
    /// ciphertext.
    pub fn decrypt_session_key(&self, ciphertext: &mpi::Ciphertext) -> openpgp::Result<SessionKey> {
        let mpi::Ciphertext::RSA { c } = ciphertext else {
            return Err(openpgp::Error::InvalidOperation(
                "not an RSA session-key ciphertext".into(),
            )
            .into());
        };
        let size = usize::try_from(self.rsa.size()).unwrap_or(usize::MAX);
        let c = c.value();
        if c.len() > size {
            return Err(
                openpgp::Error::MalformedMPI("ciphertext longer than the modulus".into()).into(),
            );
        }
        let mut buf: Protected = vec![0; size].into();
        let len = self.rsa.private_decrypt(c, &mut buf, Padding::PKCS1)?;
        let plain = buf
            .get(..len)
            .ok_or_else(|| openpgp::Error::InvalidOperation("OpenSSL overran its buffer".into()))?;
        let plain: Protected = plain.into();
        Ok(plain.into())
    }

    /// Encrypts a fixed block with the public key and decrypts it again, so
    /// a key whose numbers disagree is never used.
    fn round_trip(&self) -> Result<(), String> {
        let size = usize::try_from(self.rsa.size()).map_err(|e| e.to_string())?;
        let probe = [0x5a_u8; 32];
        let mut sealed = vec![0; size];
        let n = self
            .rsa
            .public_encrypt(&probe, &mut sealed, Padding::PKCS1)
            .map_err(|e| format!("cannot encrypt to it: {e}"))?;
        let mut opened = vec![0; size];
        let m = self
            .rsa
            .private_decrypt(sealed.get(..n).unwrap_or(&[]), &mut opened, Padding::PKCS1)
            .map_err(|e| format!("cannot decrypt with it: {e}"))?;
        if opened.get(..m) == Some(&probe[..]) {
            Ok(())
        } else {
            Err("a round trip through the key does not give back its input".into())
        }
    }
}

/// The OpenSSL key from OpenPGP's numbers, `p` and `q` already in
/// OpenSSL's order (so `u` is qInv).
fn build(
    n: &[u8],
    e: &[u8],
    d: &[u8],
    p: &[u8],
    q: &[u8],
    u: &[u8],
) -> Result<Rsa<Private>, String> {
    let ossl = |e: ErrorStack| format!("OpenSSL: {e}");
    let mut ctx = BigNumContext::new_secure().map_err(ossl)?;
    let secret = |bytes: &[u8]| -> Result<BigNum, ErrorStack> {
        let mut bn = BigNum::from_slice(bytes)?;
        bn.set_const_time();
        Ok(bn)
    };
    let n = BigNum::from_slice(n).map_err(ossl)?;
    let e = BigNum::from_slice(e).map_err(ossl)?;
    let (d, p, q, qinv) = (secret(d), secret(p), secret(q), secret(u));
    let (d, p, q, qinv) = (
        d.map_err(ossl)?,
        p.map_err(ossl)?,
        q.map_err(ossl)?,
        qinv.map_err(ossl)?,
    );
    let mut pq = BigNum::new().map_err(ossl)?;
    pq.checked_mul(&p, &q, &mut ctx).map_err(ossl)?;
    if pq != n {
        return Err("n is not p·q".into());
    }
    let mut check = BigNum::new().map_err(ossl)?;
    check.mod_mul(&q, &qinv, &p, &mut ctx).map_err(ossl)?;
    if check != BigNum::from_u32(1).map_err(ossl)? {
        return Err("u is not the inverse of p mod q".into());
    }
    let exponent = |prime: &BigNumRef, ctx: &mut BigNumContext| -> Result<BigNum, ErrorStack> {
        let mut less_one = prime.to_owned()?;
        less_one.sub_word(1)?;
        less_one.set_const_time();
        let mut out = BigNum::new()?;
        out.checked_rem(&d, &less_one, ctx)?;
        out.set_const_time();
        Ok(out)
    };
    let dp = exponent(&p, &mut ctx).map_err(ossl)?;
    let dq = exponent(&q, &mut ctx).map_err(ossl)?;
    Rsa::from_private_components(n, e, d, p, q, dp, dq, qinv).map_err(ossl)
}

/// A shared [`RsaCrt`] as sequoia's [`Decryptor`], for one packet.
impl Decryptor for &RsaCrt {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn decrypt(
        &mut self,
        ciphertext: &mpi::Ciphertext,
        _plaintext_len: Option<usize>,
    ) -> openpgp::Result<SessionKey> {
        self.decrypt_session_key(ciphertext)
    }
}

impl Decryptor for RsaCrt {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn decrypt(
        &mut self,
        ciphertext: &mpi::Ciphertext,
        _plaintext_len: Option<usize>,
    ) -> openpgp::Result<SessionKey> {
        self.decrypt_session_key(ciphertext)
    }
}

#[cfg(test)]
mod tests;
