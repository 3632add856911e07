//! Coverage-guided fuzzing of the normaliser: raw mail in, a report out,
//! never a panic. The demo key (its secret half is public) lets the fuzzer
//! reach decrypted content; seeds come from ../shared/corpus and tests/data.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use secintake::config::Limits;
use secintake::openpgp::Keyring;
use secintake::support::secret::Secret;
use sequoia_openpgp::cert::CertParser;
use sequoia_openpgp::parse::Parse;

fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        let key = include_bytes!("../../keys/DEMO-ONLY-security.sec.asc");
        let certs = CertParser::from_bytes(&key[..])
            .expect("demo key")
            .filter_map(Result::ok)
            .collect();
        Keyring::from_certs(certs, None, true)
            .expect("keyring")
            .with_passwords(vec![Secret::new("password".to_string())])
    })
}

fn limits() -> Limits {
    // Small caps keep each run fast; the logic is the same as production.
    Limits {
        max_message_bytes: 1 << 20,
        max_decrypted_bytes: 4 << 20,
        max_mime_depth: 20,
        max_header_bytes: 64 << 10,
        max_payloads: 16,
        ..Limits::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let opened = secintake::normalize::open(keyring(), data, &limits());
    // The report is always serialisable (it is filed as JSON-ish text).
    let _ = serde_json::to_string(&opened);
});
