//! Recognising related reports without keeping their text.
//!
//! Two signals, either one enough:
//!
//! * **Near-identical text.** The report text is normalised (lower case,
//!   quoted lines and signature dropped, split into words of letters and
//!   digits), cut into overlapping word 3-shingles, and summarised by a
//!   128-value MinHash signature (Broder 1997). The fraction of positions
//!   where two signatures agree estimates the Jaccard similarity of the two
//!   shingle sets (standard error ≤ 0.045 at 128 values). Texts with fewer
//!   than `min_words` words are not compared by text: short notes all look
//!   alike. The threshold (`[dedupe] similar_text`, default 0.6) sits between
//!   an edited copy of one report (≈0.7–0.95) and two reports on different
//!   bugs sharing a template (≈0.1–0.3); `tests/similarity.rs` tests both sides.
//! * **A shared identifier**: a CVE or GHSA ID, an affected package (from
//!   `pypi.org/project/X`, `npmjs.com/package/X`, `pip install X`,
//!   `npm install X`, or a `Package: X` line) or a URL with a path.
//!
//! Only hashes are stored: shingles and identifiers go through SHA-256 keyed
//! with a per-installation random key from the state store, so a stolen
//! record reveals neither words nor identifiers.

use sha2::{Digest, Sha256};

/// MinHash signature length.
pub const PERMUTATIONS: usize = 128;
/// Words per shingle.
pub const SHINGLE: usize = 3;
/// 2^61 − 1, a Mersenne prime: the universal hash family's modulus.
const PRIME: u64 = (1 << 61) - 1;

pub use crate::record::Fingerprint;

/// An identifier found in a text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identifier {
    pub kind: &'static str,
    /// Normalised: CVE/GHSA upper case, packages and URLs lower case.
    pub value: String,
}

/// Why two reports look related.
#[derive(Debug, Clone, PartialEq)]
pub struct Resemblance {
    /// Estimated Jaccard similarity of the texts (0 when not compared).
    pub text: f64,
    /// Shared identifier hashes.
    pub shared: Vec<String>,
}

/// Words of a report: lower case runs of letters and digits, skipping
/// quoted lines (`>`) and everything after a `-- ` signature line.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line == "-- " || line == "--" {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        out.extend(
            line.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase),
        );
    }
    out
}

/// The normalised content, for "same report again" (resubmission) checks.
pub fn normalised(text: &str) -> String {
    words(text).join(" ")
}

/// SHA-256 with `key || what || 0` already hashed in: clone it per value.
fn keyed_hasher(key: &[u8], what: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(key);
    h.update(what.as_bytes());
    h.update([0]);
    h
}

fn keyed(key: &[u8], what: &str, value: &str) -> [u8; 32] {
    let mut h = keyed_hasher(key, what);
    h.update(value.as_bytes());
    h.finalize().into()
}

fn u64_of(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    for (dst, src) in b.iter_mut().zip(bytes) {
        *dst = *src;
    }
    u64::from_le_bytes(b)
}

/// The i-th hash function of the family h(x) = (a·x + b) mod p, with a, b
/// fixed for all time (they must not change, or stored signatures break).
fn coefficients(i: usize) -> (u64, u64) {
    let d: [u8; 32] = Sha256::digest(format!("secintake-minhash-{i}").as_bytes()).into();
    let a = u64_of(d.get(..8).unwrap_or_default()) % (PRIME - 1) + 1;
    let b = u64_of(d.get(8..16).unwrap_or_default()) % PRIME;
    (a, b)
}

/// Every permutation's coefficients, worked out once per process.
fn all_coefficients() -> &'static [(u64, u64)] {
    static ALL: std::sync::OnceLock<Vec<(u64, u64)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| (0..PERMUTATIONS).map(coefficients).collect())
}

/// `v mod p` for p = 2^61 − 1 and v < 2^122 (so a·x + b with a, x, b < p),
/// by folding the high bits onto the low ones: the same value as `%`,
/// without a 128-bit division.
fn mod_prime(v: u128) -> u64 {
    let p = u128::from(PRIME);
    let folded = (v & p) + (v >> 61); // < 2^62
    let folded = (folded & p) + (folded >> 61); // <= p + 1
    let r = if folded >= p { folded - p } else { folded };
    r as u64
}

fn minhash(words: &[String], key: &[u8]) -> Vec<u32> {
    // As `keyed(key, "shingle", shingle)`, with the prefix hashed once.
    let prefix = keyed_hasher(key, "shingle");
    let mut shingles: Vec<u64> = words
        .windows(SHINGLE)
        .map(|w| {
            let mut h = prefix.clone();
            h.update(w.join(" ").as_bytes());
            let d: [u8; 32] = h.finalize().into();
            u64_of(&d) % PRIME
        })
        .collect();
    shingles.sort_unstable();
    shingles.dedup();
    if shingles.is_empty() {
        return Vec::new();
    }
    all_coefficients()
        .iter()
        .map(|&(a, b)| {
            let min = shingles
                .iter()
                .map(|&x| mod_prime(u128::from(a) * u128::from(x) + u128::from(b)))
                .min()
                .unwrap_or(0);
            (min & 0xffff_ffff) as u32
        })
        .collect()
}

/// Fingerprints a report text. `min_words` gates the text signature.
pub fn fingerprint(text: &str, key: &[u8], min_words: usize, ignore: &[String]) -> Fingerprint {
    let w = words(text);
    let minhash = if w.len() >= min_words.max(SHINGLE) {
        minhash(&w, key)
    } else {
        Vec::new()
    };
    let ignored = identifiers(&ignore.join("\n"));
    let mut identifiers: Vec<String> = identifiers(text)
        .into_iter()
        .filter(|i| {
            !ignored.contains(i) && !ignore.iter().any(|x| x.eq_ignore_ascii_case(&i.value))
        })
        .map(|i| identifier_hash(&i, key))
        .collect();
    identifiers.sort();
    identifiers.dedup();
    Fingerprint {
        minhash,
        identifiers,
    }
}

/// The stored form of an identifier: its kind, then a keyed hash.
pub fn identifier_hash(i: &Identifier, key: &[u8]) -> String {
    format!(
        "{}:{}",
        i.kind,
        hex::encode(keyed(key, i.kind, &i.value).get(..16).unwrap_or_default())
    )
}

/// The identifiers in `text` that `other` also mentions, for showing in
/// the tracker (the text is at hand there; the store keeps only hashes).
pub fn shared_identifiers(text: &str, key: &[u8], other: &Fingerprint) -> Vec<Identifier> {
    identifiers(text)
        .into_iter()
        .filter(|i| {
            other
                .identifiers
                .binary_search(&identifier_hash(i, key))
                .is_ok()
        })
        .collect()
}

/// Estimated Jaccard similarity of two signatures (0 when either is empty).
pub fn text_similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    if a.minhash.len() != PERMUTATIONS || b.minhash.len() != PERMUTATIONS {
        return 0.0;
    }
    let same = a
        .minhash
        .iter()
        .zip(&b.minhash)
        .filter(|(x, y)| x == y)
        .count();
    same as f64 / PERMUTATIONS as f64
}

/// How `a` resembles `b`, or None when it does not reach `threshold` and
/// shares no identifier.
pub fn resemble(a: &Fingerprint, b: &Fingerprint, threshold: f64) -> Option<Resemblance> {
    let text = text_similarity(a, b);
    let shared: Vec<String> = a
        .identifiers
        .iter()
        .filter(|i| b.identifiers.binary_search(i).is_ok())
        .cloned()
        .collect();
    (text >= threshold || !shared.is_empty()).then_some(Resemblance { text, shared })
}

fn trim_token(t: &str) -> &str {
    t.trim_matches(|c: char| {
        matches!(
            c,
            '.' | ','
                | ';'
                | ':'
                | '!'
                | '?'
                | ')'
                | '('
                | '['
                | ']'
                | '<'
                | '>'
                | '"'
                | '\''
                | '`'
        )
    })
}

fn is_package_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/'))
}

/// The package part of `name==1.2`, `name>=1`, `name@1.2` (npm), lower case,
/// with PyPI's `-`/`_`/`.` equivalence folded to `-` (PEP 503).
fn package(raw: &str) -> Option<String> {
    let raw = trim_token(raw);
    let cut = raw
        .find(['=', '<', '>', '~', '!', '['])
        .unwrap_or(raw.len());
    let mut name = raw.get(..cut).unwrap_or(raw);
    // npm: "@scope/name@1.2" keeps the scope, drops the version.
    if let Some(at) = name.get(1..).and_then(|r| r.rfind('@')) {
        name = name.get(..at + 1).unwrap_or(name);
    }
    let name = name.to_ascii_lowercase().replace(['_', '.'], "-");
    is_package_name(&name).then_some(name)
}

fn cve(t: &str) -> Option<String> {
    let up = t.to_ascii_uppercase();
    let rest = up.strip_prefix("CVE-")?;
    let (year, num) = rest.split_once('-')?;
    (year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
        && num.len() >= 4
        && num.chars().all(|c| c.is_ascii_digit()))
    .then(|| format!("CVE-{year}-{num}"))
}

fn ghsa(t: &str) -> Option<String> {
    let low = t.to_ascii_lowercase();
    let rest = low.strip_prefix("ghsa-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    (parts.len() == 3
        && parts
            .iter()
            .all(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_alphanumeric())))
    .then(|| format!("GHSA-{rest}"))
}

/// `scheme://host/path` lower-cased, without query, fragment or trailing
/// slash; None for bare hosts (too common to mean anything).
fn url(t: &str) -> Option<String> {
    let t = trim_token(t);
    let (scheme, rest) = t.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (host, path) = rest.split_once('/')?;
    let host = host.rsplit('@').next().unwrap_or(host).to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let path = path.trim_end_matches('/').to_ascii_lowercase();
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{host}/{path}"))
}

/// CVE and GHSA IDs, affected packages and URLs mentioned in a text.
pub fn identifiers(text: &str) -> Vec<Identifier> {
    let mut out = Vec::new();
    let mut push = |kind: &'static str, value: Option<String>| {
        if let Some(value) = value {
            out.push(Identifier { kind, value });
        }
    };
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        for (i, raw) in tokens.iter().enumerate() {
            let t = trim_token(raw);
            push("cve", cve(t));
            push("ghsa", ghsa(t));
            if let Some(u) = url(t) {
                for (prefix, kind) in [
                    ("pypi.org/project/", "package"),
                    ("npmjs.com/package/", "package"),
                ] {
                    if let Some(name) = u.strip_prefix(prefix) {
                        push(kind, package(name.split('/').next().unwrap_or("")));
                    }
                }
                push("url", Some(u));
            }
            let next = tokens.get(i + 1).copied();
            let after = tokens.get(i + 2).copied();
            let installer = matches!(t, "pip" | "pip3" | "npm" | "yarn" | "conda");
            if installer && matches!(next, Some("install") | Some("add")) {
                if let Some(name) = after.filter(|a| !a.starts_with('-')) {
                    push("package", package(name));
                }
            }
        }
        let lower = line.trim().to_ascii_lowercase();
        for label in ["affected package:", "package:", "component:"] {
            if let Some(rest) = lower.strip_prefix(label) {
                if let Some(first) = rest.split_whitespace().next() {
                    push("package", package(first));
                }
                break;
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_identifiers() {
        let ids = identifiers(
            "See CVE-2024-35178 (and ghsa-hrw6-wg82-cm62).\n\
             Affected package: Jupyter_Server==2.14.0\n\
             pip install notebook==7.1 ; npm install @jupyterlab/apputils@4.2\n\
             https://www.example.org/a/b/?x=1 https://example.org/ https://pypi.org/project/nbconvert/",
        );
        let values: Vec<_> = ids.iter().map(|i| (i.kind, i.value.as_str())).collect();
        for want in [
            ("cve", "CVE-2024-35178"),
            ("ghsa", "GHSA-hrw6-wg82-cm62"),
            ("package", "jupyter-server"),
            ("package", "notebook"),
            ("package", "@jupyterlab/apputils"),
            ("package", "nbconvert"),
            ("url", "example.org/a/b"),
        ] {
            assert!(values.contains(&want), "{want:?} missing from {values:?}");
        }
        assert!(
            !values
                .iter()
                .any(|(k, v)| *k == "url" && *v == "example.org"),
            "bare host kept: {values:?}"
        );
    }

    #[test]
    fn ignores_non_identifiers() {
        assert!(identifiers("CVE-24-1 cve-2024-12 GHSA-xx pip install -U").is_empty());
    }

    #[test]
    fn words_skip_quotes_and_signature() {
        assert_eq!(
            words("Hello, World!\n> quoted text\nbye\n-- \nsig line"),
            vec!["hello", "world", "bye"]
        );
    }

    #[test]
    fn the_folded_modulus_equals_the_division() {
        let p = u128::from(PRIME);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..100_000u64 {
            // xorshift: a spread of values below p, and the edges.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (a, b, v) = match i {
                0 => (PRIME - 1, PRIME - 1, PRIME - 1),
                1 => (1, 0, 0),
                2 => (1, PRIME - 1, 1),
                _ => (x % PRIME, (x >> 3) % PRIME, x.rotate_left(29) % PRIME),
            };
            let n = u128::from(a) * u128::from(v) + u128::from(b);
            assert_eq!(u128::from(mod_prime(n)), n % p, "{a} {v} {b}");
        }
        assert_eq!(mod_prime(p), 0);
        assert_eq!(mod_prime(p + 1), 1);
        assert_eq!(mod_prime(2 * p), 0);
    }

    #[test]
    fn signature_is_keyed() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let a = fingerprint(text, b"key-a", 5, &[]);
        let b = fingerprint(text, b"key-b", 5, &[]);
        assert_eq!(a.minhash.len(), PERMUTATIONS);
        assert_ne!(a.minhash, b.minhash);
        assert_eq!(
            text_similarity(&a, &fingerprint(text, b"key-a", 5, &[])),
            1.0
        );
    }
}
