//! The SMTP mailer on each kind of listener of a real Postfix (plain,
//! STARTTLS + AUTH, implicit TLS + AUTH): two messages each in a row (the
//! second goes over the kept connection when it is still good), both
//! delivered to the reporter's IMAP INBOX.
//! (The mailer opens its sockets itself, with TCP_NODELAY; see
//! `src/mailer/smtp/connection.rs`. How fast is for `benches/pipeline`.)

mod common;

use std::time::Duration;

use common::{Env, Options, REPORTER, REPORTER_PW, SECURITY, SECURITY_PW};
use secintake::config::{Security, SmtpSettings};
use secintake::mailer::smtp::SmtpMailer;
use secintake::mailer::Outgoing;
use secintake::support::secret::Secret;

fn message(label: &str) -> Outgoing {
    let id = format!("<{label}@example.test>");
    Outgoing {
        message_id: id.clone(),
        envelope_from: SECURITY.to_string(),
        envelope_to: REPORTER.to_string(),
        formatted: format!(
            "From: {SECURITY}\r\nTo: {REPORTER}\r\nSubject: transport {label}\r\nMessage-ID: {id}\r\n\r\nbody of {label}\r\n.leading dot\r\n"
        )
        .into_bytes(),
        label: label.to_string(),
    }
}

#[test]
fn each_listener_delivers_two_messages_in_a_row() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let auth = (
        Some(SECURITY.to_string()),
        Some(Secret::new(SECURITY_PW.to_string())),
    );
    let cases = [
        (
            "plain",
            env.postfix.smtp_port,
            Security::Plain,
            (None, None),
        ),
        (
            "starttls",
            env.postfix.submission_port,
            Security::StartTls,
            auth.clone(),
        ),
        ("tls", env.postfix.smtps_port, Security::Tls, auth),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut sent = 0;
    for (name, port, security, (username, password)) in cases {
        let mailer = SmtpMailer::new(&SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security,
            ca_file: Some(env.postfix.cert_pem.clone()),
            username,
            password,
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        for i in 0..2 {
            rt.block_on(mailer.send(&message(&format!("{name}-{i}"))))
                .unwrap_or_else(|e| panic!("{name} message {i}: {e}"));
            sent += 1;
        }
        rt.block_on(mailer.check())
            .unwrap_or_else(|e| panic!("{name} check: {e}"));
    }
    assert_eq!(sent, 6);
    let got = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 6, Duration::from_secs(60));
    for name in ["plain", "starttls", "tls"] {
        for i in 0..2 {
            let subject = format!("Subject: transport {name}-{i}");
            let m = got
                .iter()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .find(|m| m.contains(&subject))
                .unwrap_or_else(|| panic!("{subject} not delivered"));
            assert!(m.contains("\r\n.leading dot\r\n"), "dot-stuffing lost: {m}");
        }
    }
}
