use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::crypto::mpi::{self, Ciphertext, MPI};
use openpgp::crypto::{Decryptor, SessionKey};
use openpgp::packet::key::{SecretKeyMaterial, SecretParts, UnspecifiedRole};
use openpgp::packet::pkesk::PKESK3;
use openpgp::packet::{Key, PKESK};
use openpgp::types::SymmetricAlgorithm;
use sequoia_openpgp as openpgp;
use sha2::{Digest, Sha256};

use super::RsaCrt;
use crate::openpgp::unlock::unlock;

/// The encryption subkey of a fresh certificate, with its secret.
fn subkey(suite: CipherSuite) -> Key<SecretParts, UnspecifiedRole> {
    let (cert, _) = CertBuilder::new()
        .set_cipher_suite(suite)
        .add_transport_encryption_subkey()
        .generate()
        .expect("certificate generates");
    let key = cert
        .keys()
        .subkeys()
        .secret()
        .next()
        .expect("an encryption subkey")
        .key()
        .clone()
        .role_into_unspecified();
    key
}

/// `count` distinct session keys of `len` bytes, derived from `seed`.
fn session_keys(seed: &str, count: usize, len: usize) -> Vec<SessionKey> {
    (0..count)
        .map(|i| {
            let bytes: Vec<u8> = Sha256::digest(format!("{seed}{i}"))
                .iter()
                .cycle()
                .take(len)
                .copied()
                .collect();
            SessionKey::from(bytes)
        })
        .collect()
}

/// What sequoia encrypts to `key`, the prepared key opens, and gives the
/// same session key as sequoia's own decryptor.
fn round_trips(suite: CipherSuite) {
    let key = subkey(suite);
    let prepared = unlock(&key, None).expect("unlocks");
    assert!(prepared.is_rsa_crt(), "an RSA key is prepared for CRT");
    let mut sequoia = key.clone().into_keypair().expect("keypair");
    let cases = [
        (SymmetricAlgorithm::AES256, 32),
        (SymmetricAlgorithm::AES128, 16),
    ];
    let mut ran = 0;
    for (algo, len) in cases {
        for sk in session_keys("rsa", 4, len) {
            let pkesk = PKESK::from(PKESK3::for_recipient(algo, &sk, &key).expect("encrypts"));
            let opened = prepared.decrypt(&pkesk, None);
            assert_eq!(opened, Some((Some(algo), sk.clone())));
            assert_eq!(pkesk.decrypt(&mut sequoia, None), opened);
            ran += 1;
        }
    }
    assert_eq!(ran, 8);
}

#[test]
fn opens_what_sequoia_encrypts_to_rsa_2048() {
    round_trips(CipherSuite::RSA2k);
}

#[test]
fn opens_what_sequoia_encrypts_to_rsa_4096() {
    round_trips(CipherSuite::RSA4k);
}

#[test]
fn garbage_ciphertexts_fail_cleanly() {
    let key = subkey(CipherSuite::RSA2k);
    let mut rsa = RsaCrt::prepare(&key)
        .expect("valid numbers")
        .expect("an RSA key");
    let modulus = 256;
    let mut cases: Vec<Vec<u8>> = (0..40u8)
        .map(|i| {
            let mut c: Vec<u8> = Sha256::digest([i])
                .iter()
                .cycle()
                .take(modulus)
                .copied()
                .collect();
            // Below the modulus's top byte, so OpenSSL reaches the padding check.
            if let Some(top) = c.first_mut() {
                *top &= 0x3f;
            }
            c
        })
        .collect();
    cases.push(vec![0xff; modulus]); // at least the modulus
    cases.push(vec![0x01; modulus + 1]); // longer than the modulus
    cases.push(vec![]);
    cases.push(vec![0x02]);
    for c in &cases {
        let ciphertext = Ciphertext::RSA { c: MPI::new(c) };
        assert!(rsa.decrypt(&ciphertext, None).is_err(), "{c:02x?}");
        let pkesk =
            PKESK::from(PKESK3::new(Some(key.keyid()), key.pk_algo(), ciphertext).expect("packet"));
        let prepared = unlock(&key, None).expect("unlocks");
        assert_eq!(prepared.decrypt(&pkesk, None), None);
    }
    assert_eq!(cases.len(), 44);
    let ecdh = Ciphertext::ECDH {
        e: MPI::new(&[0x40; 33]),
        key: vec![0; 40].into_boxed_slice(),
    };
    assert!(rsa.decrypt(&ecdh, None).is_err());
}

#[test]
fn inconsistent_numbers_keep_sequoias_decryptor() {
    let key = subkey(CipherSuite::RSA2k);
    let SecretKeyMaterial::Unencrypted(secret) = key.secret() else {
        panic!("fresh key is unencrypted");
    };
    let broken = secret.map(|mpis| match mpis {
        mpi::SecretKeyMaterial::RSA { d, p, q, .. } => mpi::SecretKeyMaterial::RSA {
            d: d.clone(),
            p: p.clone(),
            q: q.clone(),
            // u = p⁻¹ mod q no more.
            u: mpi::ProtectedMPI::from(vec![0x03]),
        },
        _ => panic!("RSA numbers"),
    });
    let (public, _) = key.clone().take_secret();
    let broken = public.add_secret(broken.into()).0;
    let err = RsaCrt::prepare(&broken).expect_err("u is checked");
    assert!(err.contains("inverse"), "{err}");
    let fallback = unlock(&broken, None).expect("sequoia's decryptor still works");
    assert!(!fallback.is_rsa_crt());
    let sk = session_keys("fallback", 1, 32).remove(0);
    let pkesk = PKESK::from(
        PKESK3::for_recipient(SymmetricAlgorithm::AES256, &sk, &broken).expect("encrypts"),
    );
    assert_eq!(
        fallback.decrypt(&pkesk, None),
        Some((Some(SymmetricAlgorithm::AES256), sk))
    );
}

#[test]
fn other_algorithms_are_left_to_sequoia() {
    let key = subkey(CipherSuite::Cv25519);
    assert!(RsaCrt::prepare(&key).expect("no error").is_none());
    let prepared = unlock(&key, None).expect("unlocks");
    assert!(!prepared.is_rsa_crt());
    let sk = session_keys("ecdh", 1, 32).remove(0);
    let pkesk = PKESK::from(
        PKESK3::for_recipient(SymmetricAlgorithm::AES256, &sk, &key).expect("encrypts"),
    );
    assert_eq!(
        prepared.decrypt(&pkesk, None),
        Some((Some(SymmetricAlgorithm::AES256), sk))
    );
}
