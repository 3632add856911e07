//! Builders for the channel tests (`tests/list_channel.rs`,
//! `tests/team_channel.rs`): a message as its writer sent it, and the copy
//! Google Groups or Mailman 3 makes of it, with the header sets those list
//! servers write (Google Groups for a Workspace group whose sender's domain
//! publishes `p=reject`; Mailman 3.3 with `dmarc_mitigate_action =
//! munge_from`), with example domains; plus the environment's helpers.

use std::time::Duration;

use super::daemon::run_cli;
use super::*;
use serde_json::Value;

pub const WAIT: Duration = Duration::from_secs(60);
pub const LIST_GOOGLE: &str = "security.example.test";
pub const LIST_MAILMAN: &str = "security.lists.example.test";

/// Google Groups' copy: `From:` rewritten to the group with the "via"
/// name, the writer in `Reply-To:` and `X-Original-Sender:`. `{MID}`,
/// `{SUBJECT}`, `{NAME}`, `{ADDR}` and `{REFS}` are filled in.
pub const GOOGLE_HEADERS: &str = "Return-Path: <security+bncBCX7PJ4QJUNRBW5L2KZQMGQE5ZQY4NI@example.test>\r
X-Original-To: security@example.test\r
Received: by mail-sor-f69.google.com with SMTP id 5614622812f47-3e7b9d2f1b4so1412795b6e.2\r
        for <security@example.test>; Tue, 24 Nov 2026 02:00:11 -0800 (PST)\r
ARC-Seal: i=2; a=rsa-sha256; t=1795600811; cv=pass; d=google.com; s=arc-20240605; b=Xyz0\r
X-Received: by 2002:a05:6808:1a0b:b0:3e7:b9d2:f1b4 with SMTP id bm11mr1;\r
        Tue, 24 Nov 2026 02:00:11 -0800 (PST)\r
From: \"'{NAME}' via Jupyter Security\" <security@example.test>\r
To: security@example.test\r
Subject: {SUBJECT}\r
Date: Tue, 24 Nov 2026 10:00:00 +0000\r
Message-ID: {MID}\r
{REFS}MIME-Version: 1.0\r
Content-Type: text/plain; charset=\"UTF-8\"\r
Reply-To: {NAME} <{ADDR}>\r
X-Original-Sender: {ADDR}\r
X-Original-Authentication-Results: mx.google.com;       dkim=pass header.i=@example.test header.s=s1 header.b=Qm9v;       spf=pass (google.com: domain of {ADDR} designates 192.0.2.25 as permitted sender) smtp.mailfrom={ADDR};       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.test\r
Precedence: list\r
Mailing-list: list security@example.test; contact security+owners@example.test\r
List-ID: <security.example.test>\r
X-Spam-Checked-In-Group: security@example.test\r
X-Google-Group-Id: 1043216784712\r
List-Post: <https://groups.google.com/a/example.test/group/security/post>, <mailto:security@example.test>\r
List-Help: <https://support.google.com/a/example.test/bin/topic.py?topic=25838>, <mailto:security+help@example.test>\r
List-Archive: <https://groups.google.com/a/example.test/group/security/>\r
List-Unsubscribe: <mailto:googlegroups-manage+1043216784712+unsubscribe@googlegroups.com>,\r
 <https://groups.google.com/a/example.test/group/security/subscribe>\r
";

pub const GOOGLE_FOOTER: &str = "\r\n-- \r\nYou received this message because you are subscribed to the Google Groups \"Jupyter Security\" group.\r\nTo unsubscribe from this group and stop receiving emails from it, send an email to security+unsubscribe@example.test.\r\nTo view this discussion visit https://groups.google.com/a/example.test/d/msgid/security/x%40example.test.\r\n";

/// Mailman 3's copy with `munge_from`: "NAME via LIST" at the list's
/// address, the writer in `Reply-To:`, a subject prefix.
pub const MAILMAN_HEADERS: &str = "Return-Path: <security-bounces@lists.example.test>\r
Received: from mail.lists.example.test (localhost [127.0.0.1])\r
	by mail.lists.example.test (Postfix) with ESMTP id 4Tq1xZ0b3Lz9sQ\r
	for <security@example.test>; Tue, 24 Nov 2026 10:00:02 +0000 (UTC)\r
From: {NAME} via Security <security@lists.example.test>\r
To: security@lists.example.test\r
Subject: [Security] {SUBJECT}\r
Date: Tue, 24 Nov 2026 10:00:00 +0000\r
Message-ID: {MID}\r
{REFS}MIME-Version: 1.0\r
Content-Type: text/plain; charset=\"utf-8\"\r
Content-Transfer-Encoding: 7bit\r
Reply-To: {NAME} <{ADDR}>\r
Message-ID-Hash: 7RZ2QOHMZ7UO4GVWD2N2NGL64MVHJV5N\r
X-Message-ID-Hash: 7RZ2QOHMZ7UO4GVWD2N2NGL64MVHJV5N\r
X-MailFrom: {ADDR}\r
X-Mailman-Rule-Misses: dmarc-mitigation; no-senders; approved; emergency; loop; banned-address; member-moderation; nonmember-moderation; administrivia; implicit-dest; max-recipients; max-size; news-moderation; no-subject; digests; suspicious-header\r
X-Mailman-Version: 3.3.9\r
Precedence: list\r
List-Id: Security <security.lists.example.test>\r
Archived-At: <https://lists.example.test/archives/list/security@lists.example.test/message/7RZ2QOHMZ7UO4GVWD2N2NGL64MVHJV5N/>\r
List-Archive: <https://lists.example.test/archives/list/security@lists.example.test/>\r
List-Help: <mailto:security-request@lists.example.test?subject=help>\r
List-Owner: <mailto:security-owner@lists.example.test>\r
List-Post: <mailto:security@lists.example.test>\r
List-Subscribe: <mailto:security-join@lists.example.test>\r
List-Unsubscribe: <mailto:security-leave@lists.example.test>\r
";

pub const MAILMAN_FOOTER: &str = "\r\n_______________________________________________\r\nSecurity mailing list -- security@lists.example.test\r\nTo unsubscribe send an email to security-leave@lists.example.test\r\n";

/// A message as its writer sent it (to us directly).
pub fn direct(name: &str, addr: &str, mid: &str, subject: &str, refs: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {name} <{addr}>\r\nTo: security@example.test\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: {mid}\r\n{refs}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The list's copy of the same message.
pub fn via_list(
    headers: &str,
    footer: &str,
    (name, addr): (&str, &str),
    mid: &str,
    subject: &str,
    refs: &str,
    body: &str,
) -> Vec<u8> {
    let head = headers
        .replace("{NAME}", name)
        .replace("{ADDR}", addr)
        .replace("{MID}", mid)
        .replace("{SUBJECT}", subject)
        .replace("{REFS}", refs);
    format!("{head}\r\n{body}\r\n{footer}").into_bytes()
}

pub fn refs(mid: &str) -> String {
    format!("In-Reply-To: {mid}\r\nReferences: {mid}\r\n")
}

/// Adds lines to `[instance]` of the environment's configuration.
pub fn configure(env: &Env, instance: &str, extra: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let text = text.replacen("[instance]\n", &format!("[instance]\n{instance}\n"), 1);
    std::fs::write(&env.config, format!("{text}\n{extra}\n")).unwrap();
}

pub fn run_once(env: &Env) {
    let (code, out) = run_cli(&["--config", env.config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(code, 0, "{out}");
}

pub fn status(env: &Env) -> Vec<Value> {
    let (code, out) = run_cli(&["--config", env.config.to_str().unwrap(), "status", "--json"]);
    assert_eq!(code, 0, "{out}");
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    json["records"].as_array().expect("records").clone()
}

pub fn kinds(records: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

pub fn issue_with<'a>(
    issues: &'a [secintake_testkit::github_fake::FakeIssue],
    needle: &str,
) -> &'a secintake_testkit::github_fake::FakeIssue {
    let found: Vec<_> = issues.iter().filter(|i| i.body.contains(needle)).collect();
    assert_eq!(
        found.len(),
        1,
        "issues containing {needle:?}: {}",
        found.len()
    );
    found[0]
}

/// The acknowledgements in the reporter's INBOX, once `n` are there and no
/// more arrive for a few seconds.
pub fn acks_settled(env: &Env, n: usize) -> Vec<Vec<u8>> {
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", n, WAIT);
    std::thread::sleep(Duration::from_secs(3));
    env.acks()
}
