//! The real test servers work: private Dovecot (IMAP, LMTP, SASL) and Postfix
//! (plain SMTP, STARTTLS submission, SMTPS) delivering into Dovecot.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use secintake_testkit::dovecot::Dovecot;
use secintake_testkit::imap_client;
use secintake_testkit::postfix::Postfix;
use secintake_testkit::require::{have_dovecot, have_postfix, require};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const SEC: &str = "security@example.test";

fn message(from: &str, to: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\
         \r\nHello from the testkit.\r\n"
    )
    .into_bytes()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn dovecot_append_fetch_count() {
    if !require("dovecot", have_dovecot()) {
        return;
    }
    let d = Dovecot::start().expect("start dovecot");
    let pw = d.password(SEC).expect("security user");
    assert_eq!(pw, "securitypw");
    assert_eq!(d.ca_file(), d.cert_pem.as_path());

    let raw = message("reporter@example.org", SEC, "append-1");
    imap_client::append(d.imap_port, SEC, &pw, "INBOX", &raw)
        .await
        .unwrap();
    assert_eq!(
        imap_client::count(d.imap_port, SEC, &pw, "INBOX")
            .await
            .unwrap(),
        1
    );
    let got = imap_client::fetch_all(d.imap_port, SEC, &pw, "INBOX")
        .await
        .unwrap();
    assert_eq!(got, vec![raw]);

    // Missing mailbox: empty, not an error; then created.
    assert_eq!(
        imap_client::count(d.imap_port, SEC, &pw, "Done")
            .await
            .unwrap(),
        0
    );
    assert!(imap_client::fetch_all(d.imap_port, SEC, &pw, "Done")
        .await
        .unwrap()
        .is_empty());
    imap_client::create_mailbox(d.imap_port, SEC, &pw, "Done")
        .await
        .unwrap();
    assert_eq!(
        imap_client::count(d.imap_port, SEC, &pw, "Done")
            .await
            .unwrap(),
        0
    );

    // A user added at run time can log in.
    d.add_user("carol@example.test", "carolpw").unwrap();
    assert_eq!(d.password("carol@example.test").as_deref(), Some("carolpw"));
    let n = imap_client::count(d.imap_port, "carol@example.test", "carolpw", "INBOX")
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn two_dovecots_at_once() {
    if !require("dovecot", have_dovecot()) {
        return;
    }
    let a = Dovecot::start().expect("start dovecot a");
    let b = Dovecot::start().expect("start dovecot b");
    assert_ne!(a.imap_port, b.imap_port);
    let raw = message("x@example.org", "alice@example.test", "only-in-a");
    imap_client::append(a.imap_port, "alice@example.test", "alicepw", "INBOX", &raw)
        .await
        .unwrap();
    let in_a = imap_client::wait_for_count(
        a.imap_port,
        "alice@example.test",
        "alicepw",
        "INBOX",
        1,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(in_a.len(), 1);
    let in_b = imap_client::count(b.imap_port, "alice@example.test", "alicepw", "INBOX")
        .await
        .unwrap();
    assert_eq!(in_b, 0);
    // Wrong password is refused (only one: failures are penalised per IP).
    assert!(imap_client::login(b.imap_port, "bob@example.test", "nope")
        .await
        .is_err());
}

/// A minimal SMTP client for checking replies by hand.
struct Smtp<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Smtp<S> {
    fn new(s: S) -> Self {
        Smtp {
            io: BufReader::new(s),
        }
    }

    /// Reads one (possibly multi-line) reply: (code, full text).
    async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.io.read_line(&mut line).await.expect("read reply");
            assert!(n > 0, "server closed the connection; so far: {text:?}");
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                let code = line.get(..3).and_then(|c| c.parse().ok()).expect("code");
                return (code, text);
            }
        }
    }

    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.io
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write command");
        self.reply().await
    }

    async fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line).await;
        assert_eq!(got, code, "{line:?} -> {text}");
        text
    }

    async fn send_mail(&mut self, from: &str, to: &str, raw: &[u8]) {
        self.expect(&format!("MAIL FROM:<{from}>"), 250).await;
        self.expect(&format!("RCPT TO:<{to}>"), 250).await;
        self.expect("DATA", 354).await;
        let w = self.io.get_mut();
        w.write_all(raw).await.unwrap();
        w.write_all(b".\r\n").await.unwrap();
        let (code, text) = self.reply().await;
        assert_eq!(code, 250, "end of DATA -> {text}");
    }
}

fn tls(ca: &Path) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read CA file") {
        roots.add(cert.expect("parse CA")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn auth_plain(user: &str, pw: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = format!("\0{user}\0{pw}").into_bytes();
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("AUTH PLAIN {out}")
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect")
}

#[tokio::test]
async fn postfix_delivers_over_lmtp_into_dovecot() {
    if !require("dovecot", have_dovecot()) || !require("postfix", have_postfix()) {
        return;
    }
    let d = Dovecot::start().expect("start dovecot");
    let p = Postfix::start(&d).expect("start postfix");

    let mut smtp = Smtp::new(connect(p.smtp_port).await);
    assert_eq!(smtp.reply().await.0, 220);
    smtp.expect("EHLO client.example.test", 250).await;
    let raw = message(SEC, "alice@example.test", "plain-smtp-1");
    smtp.send_mail(SEC, "alice@example.test", &raw).await;
    smtp.expect("QUIT", 221).await;

    let got = imap_client::wait_for_count(
        d.imap_port,
        "alice@example.test",
        "alicepw",
        "INBOX",
        1,
        Duration::from_secs(20),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", p.log_tail()));
    assert!(contains(&got[0], "Subject: plain-smtp-1"));
    assert!(contains(&got[0], "Hello from the testkit."));
}

#[tokio::test]
async fn postfix_tls_ports_authenticate_against_dovecot() {
    if !require("dovecot", have_dovecot()) || !require("postfix", have_postfix()) {
        return;
    }
    let d = Dovecot::start().expect("start dovecot");
    let p = Postfix::start(&d).expect("start postfix");
    let connector = tls(p.ca_file());
    let localhost = ServerName::try_from("localhost").unwrap();

    // Submission: STARTTLS offered, AUTH only after it, then AUTH PLAIN works.
    let mut sub = Smtp::new(connect(p.submission_port).await);
    assert_eq!(sub.reply().await.0, 220);
    let ehlo = sub.expect("EHLO client.example.test", 250).await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "AUTH before TLS: {ehlo}");
    sub.expect("STARTTLS", 220).await;
    let tcp = sub.io.into_inner();
    let tls_stream = connector
        .connect(localhost.clone(), tcp)
        .await
        .expect("STARTTLS handshake");
    let mut sub = Smtp::new(tls_stream);
    let ehlo = sub.expect("EHLO client.example.test", 250).await;
    assert!(ehlo.contains("AUTH"), "{ehlo}");
    sub.expect(&auth_plain("alice@example.test", "alicepw"), 235)
        .await;
    sub.expect("QUIT", 221).await;

    // SMTPS: implicit TLS, AUTH PLAIN (bad password refused, good accepted),
    // then an authenticated message reaches bob's INBOX.
    let tls_stream = connector
        .connect(localhost, connect(p.smtps_port).await)
        .await
        .expect("SMTPS handshake");
    let mut smtps = Smtp::new(tls_stream);
    assert_eq!(smtps.reply().await.0, 220);
    smtps.expect("EHLO client.example.test", 250).await;
    smtps
        .expect(&auth_plain("alice@example.test", "wrong"), 535)
        .await;
    smtps
        .expect(&auth_plain("alice@example.test", "alicepw"), 235)
        .await;
    let raw = message("alice@example.test", "bob@example.test", "smtps-1");
    smtps
        .send_mail("alice@example.test", "bob@example.test", &raw)
        .await;
    smtps.expect("QUIT", 221).await;
    let got = imap_client::wait_for_count(
        d.imap_port,
        "bob@example.test",
        "bobpw",
        "INBOX",
        1,
        Duration::from_secs(20),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", p.log_tail()));
    assert!(contains(&got[0], "Subject: smtps-1"));
}
