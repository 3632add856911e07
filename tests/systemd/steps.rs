//! The steps of `tests/systemd.rs`: the package, the operator's edits, and
//! each check of the service with the evidence it prints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use secintake_testkit::sysroot::BootedRoot;

pub const WAIT: Duration = Duration::from_secs(60);
const CONFIG: &str = "/etc/secintake/secintake.toml";
const DROP_INS: &str = "/etc/systemd/system/secintake.service.d";
/// Report text and subject that must never reach the journal.
const PLAINTEXT: &str = "PLAINTEXT-MARKER-systemd-41c9";
const SUBJECT: &str = "Protected subject: kernel token leak";
const RELOAD_MARKER: &str = "RELOADED-TEMPLATE-MARKER-5e2a";

/// Runs one step and prints how long it took.
pub fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    println!("\n=== {name}");
    let v = f();
    println!("=== {name}: {:.2} s", start.elapsed().as_secs_f64());
    v
}

pub fn run_host(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn have_cargo_deb() -> bool {
    Command::new(cargo())
        .args(["deb", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `cargo deb` on the binary this test run built (target/debug, with the
/// failpoints feature): no second build of the daemon for the test.
pub fn build_package(dir: &Path) -> PathBuf {
    let deb = dir.join("secintake_test_amd64.deb");
    let out = Command::new(cargo())
        .current_dir(repo_root())
        .args([
            "deb",
            "--no-build",
            "--profile",
            "dev",
            "--fast",
            "-p",
            "secintake",
        ])
        .args(["--deb-version", "0.1.0+systemdtest", "-o"])
        .arg(&deb)
        .output()
        .expect("cargo deb");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("cargo deb:\n{said}");
    assert!(out.status.success(), "cargo deb failed:\n{said}");
    deb
}

/// Commands inside the booted root.
pub struct Service<'a> {
    pub root: &'a BootedRoot,
}

impl Service<'_> {
    pub fn sh(&self, script: &str) -> (bool, String) {
        self.root.sh(script).expect("nsenter")
    }

    /// Runs `script`, which must succeed; its output.
    pub fn ok(&self, script: &str) -> String {
        let (ok, out) = self.sh(script);
        assert!(ok, "`{script}` failed:\n{out}\n{}", self.status());
        out
    }

    pub fn out(&self, script: &str) -> String {
        self.sh(script).1.trim().to_string()
    }

    pub fn status(&self) -> String {
        self.sh("systemctl status secintake --no-pager --lines=0").1
    }

    pub fn journal(&self) -> String {
        self.out("journalctl -u secintake -o cat --no-pager")
    }

    pub fn show(&self, property: &str) -> String {
        self.out(&format!("systemctl show -p {property} --value secintake"))
    }

    fn wait_journal(&self, needle: &str, timeout: Duration) -> String {
        wait_until(timeout, || {
            let j = self.journal();
            j.contains(needle).then_some(j)
        })
        .unwrap_or_else(|| panic!("{needle:?} not in the journal:\n{}", self.journal()))
    }
}

/// Report `n`: the first encrypted to the team key, the others plain.
pub fn report(n: u32) -> Vec<u8> {
    let mid = format!("<systemd-{n}@example.test>");
    if n == 1 {
        mail::pgp_mime(&team_public_key(), REPORTER, SUBJECT, &mid, PLAINTEXT)
    } else {
        let body = format!("Report {n}: the login form reflects ?next= unescaped.");
        mail::plain(REPORTER, &format!("XSS number {n}"), &mid, &body)
    }
}

/// `[JUPSEC-2026-0001] …` → `JUPSEC-2026-0001`.
pub fn tracking_id(title: &str) -> String {
    title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or("")
        .into()
}

/// `check --offline` on the shipped example, after `init` made
/// credentials/: every problem is about a value the example marks SITE.
pub fn assert_example_problems_are_site_values(root: &BootedRoot, said: &str) {
    println!("check --offline on the example:\n{said}");
    let example =
        std::fs::read_to_string(root.path("/etc/secintake/secintake.example.toml")).unwrap();
    let lines: Vec<&str> = example.lines().collect();
    let problems: Vec<&str> = said.lines().filter(|l| l.starts_with("  - ")).collect();
    assert!(!problems.is_empty(), "the example's secrets are missing");
    for p in problems {
        let named = lines.iter().enumerate().find(|(_, l)| {
            let Some((key, value)) = l.split_once(" = ") else {
                return false;
            };
            let key = key.trim();
            !l.starts_with('#')
                && p.contains(key)
                && value.split('"').skip(1).step_by(2).any(|v| p.contains(v))
        });
        let (i, line) = named.unwrap_or_else(|| panic!("problem not about a named path: {p}"));
        let marked = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with('#'))
            .any(|l| l.contains("SITE"));
        assert!(marked, "{p}\n  is about `{line}`, which is not marked SITE");
    }
}

/// The operator's edits: site values in the starter configuration, the
/// servers' CA files beside it, the secrets in credentials/, and a drop-in
/// that hands over the four credentials used (the key has no passphrase).
pub fn fill_in_site_values(root: &BootedRoot, env: &Env) {
    let path = root.path(CONFIG);
    let starter = std::fs::read_to_string(&path).unwrap();
    let filled = starter
        .replace("tracking_prefix = \"SEC\"", "tracking_prefix = \"JUPSEC\"")
        .replace("security@example.org", SECURITY)
        .replace(
            "host = \"imap.example.org\"\nport = 993\nsecurity = \"tls\"",
            &format!(
                "host = \"127.0.0.1\"\nport = {}\nsecurity = \"tls\"\nca_file = \"imap-ca.pem\"\nidle = true",
                env.dovecot.imaps_port
            ),
        )
        .replace(
            "host = \"smtp.example.org\"\nport = 587",
            &format!(
                "host = \"127.0.0.1\"\nport = {}\nca_file = \"smtp-ca.pem\"",
                env.postfix.submission_port
            ),
        )
        .replace(
            "repository = \"example-org/security-reports\"",
            &format!("repository = \"{REPO}\"\napi_url = \"{}\"", env.github.url),
        )
        .replace("passphrase_file = \"key-passphrase\"\n", "");
    assert_ne!(starter, filled);
    std::fs::write(&path, filled).unwrap();
    let etc = root.path("/etc/secintake");
    std::fs::copy(&env.dovecot.cert_pem, etc.join("imap-ca.pem")).unwrap();
    std::fs::copy(&env.postfix.cert_pem, etc.join("smtp-ca.pem")).unwrap();
    let creds = etc.join("credentials");
    let key = std::fs::read(team_secret_key()).unwrap();
    for (name, data) in [
        ("imap-password", SECURITY_PW.as_bytes()),
        ("smtp-password", SECURITY_PW.as_bytes()),
        ("github-token", TOKEN.as_bytes()),
        ("team.key.asc", &key[..]),
    ] {
        std::fs::write(creds.join(name), data).unwrap();
    }
    // As docs/install.md says: `systemctl edit secintake`, an empty
    // LoadCredential= first to drop the unit's list.
    let dir = root.path(DROP_INS);
    std::fs::create_dir_all(&dir).unwrap();
    let mut conf = String::from("[Service]\nLoadCredential=\n");
    for id in [
        "imap-password",
        "smtp-password",
        "github-token",
        "team.key.asc",
    ] {
        conf.push_str(&format!(
            "LoadCredential={id}:/etc/secintake/credentials/{id}\n"
        ));
    }
    std::fs::write(dir.join("credentials.conf"), conf).unwrap();
    Service { root }.ok("chmod 600 /etc/secintake/credentials/* && systemctl daemon-reload");
}

/// `secintake check` (with the servers) as the service will run: a
/// dynamic user, the credentials through `LoadCredential=`; the command
/// docs/install.md gives, less the passphrase this key does not have.
pub fn check_as_the_service(svc: &Service) {
    let mut cmd = String::from("systemd-run --pipe --wait --collect -p DynamicUser=yes");
    for id in [
        "imap-password",
        "smtp-password",
        "github-token",
        "team.key.asc",
    ] {
        cmd.push_str(&format!(
            " -p LoadCredential={id}:/etc/secintake/credentials/{id}"
        ));
    }
    cmd.push_str(" /usr/bin/secintake --config /etc/secintake/secintake.toml check 2>&1");
    let (ok, out) = svc.sh(&cmd);
    println!("{cmd}\n{out}");
    assert!(ok, "check as the service failed:\n{out}");
    assert!(out.contains("mail source reachable"), "{out}");
}

/// `systemctl start --no-block`, watching the unit's states: it must be
/// `activating (start)` until READY=1 and only then `active (running)`.
/// READY follows the first pass, so the waiting report is filed by then.
pub fn start_until_ready(svc: &Service, env: &Env) {
    svc.ok("systemctl start --no-block secintake");
    let start = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let s = svc.out("systemctl show -p ActiveState -p SubState --value secintake");
        let s = s.split_whitespace().collect::<Vec<_>>().join("/");
        if seen.last() != Some(&s) {
            println!("  {:>6} ms  {s}", start.elapsed().as_millis());
            seen.push(s.clone());
        }
        if s == "active/running" {
            break;
        }
        assert!(
            !s.starts_with("failed") && start.elapsed() < WAIT,
            "not running: {seen:?}\n{}\n{}",
            svc.status(),
            svc.journal()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("activating/start"),
        "{seen:?}"
    );
    assert_eq!(
        env.github.issues(REPO).len(),
        1,
        "READY before the first pass"
    );
    let status_text = svc.show("StatusText");
    println!("  StatusText (sd_notify STATUS=): {status_text}");
    assert!(!status_text.is_empty(), "no STATUS= from the daemon");
}

/// Files of the state directory belong to the service's dynamic user and
/// nobody else may read them.
pub fn state_dir_belongs_to_dynamic_user(svc: &Service) {
    let uid = svc.show("UID");
    let listing = svc
        .ok("ls -ld /var/lib/secintake && find /var/lib/private/secintake -printf '%U %m %p\\n'");
    println!("dynamic user UID={uid}\n{listing}");
    let uid: u32 = uid.parse().expect("a UID while running");
    assert!((61184..=65519).contains(&uid), "not a dynamic UID: {uid}");
    let mut lines = listing.lines().filter(|l| l.contains("/var/lib/private/"));
    let top = lines.next().expect("the state directory");
    assert!(top.starts_with(&format!("{uid} 700 ")), "{top}");
    for l in lines {
        let mut f = l.split_whitespace();
        assert_eq!(f.next(), Some(uid.to_string().as_str()), "{l}");
        let mode = u32::from_str_radix(f.next().unwrap(), 8).unwrap();
        assert_eq!(mode & 0o077, 0, "readable by others: {l}");
    }
}

pub fn reload_changes_template(svc: &Service, env: &Env) {
    let ack = svc.root.path("/etc/secintake/templates/ack.txt.j2");
    let mut text = std::fs::read_to_string(&ack).unwrap();
    assert!(!env
        .acks()
        .iter()
        .any(|a| text_of(a).contains(RELOAD_MARKER)));
    text.push_str(&format!("\n{RELOAD_MARKER}\n"));
    std::fs::write(&ack, text).unwrap();
    let pid = svc.show("MainPID");
    svc.ok("systemctl reload secintake");
    let journal = svc.wait_journal("configuration reloaded", WAIT);
    println!("{}", tail_matching(&journal, &["reload"]));
    assert_eq!(svc.show("MainPID"), pid, "reload restarted the process");
    env.deliver(&report(2));
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    let marked = acks
        .iter()
        .filter(|a| text_of(a).contains(RELOAD_MARKER))
        .count();
    assert_eq!(
        marked, 1,
        "the second acknowledgement uses the new template"
    );
    println!("{}", svc.status());
}

/// Arms `file.hang` for report 3 and shortens the stall limit to 2 s with
/// `WatchdogSec=4s` (a drop-in), so the pass that files it hangs, the
/// keep-alives stop, and systemd kills and restarts the service. Without
/// the drop-in the restarted daemon files report 3, once.
pub fn watchdog_restarts_hung_pass(svc: &Service, env: &Env) {
    let first = tracking_id(&env.github.issues(REPO)[0].title);
    let third = format!("{}0003", &first[..first.len() - 4]);
    let dropin = format!("{DROP_INS}/zz-watchdog-test.conf");
    std::fs::write(
        svc.root.path(&dropin),
        format!(
            "[Service]\nWatchdogSec=4s\nRestartSec=1s\n\
             Environment=SECINTAKE_FAILPOINT=file.hang@{third}:1\n\
             Environment=SECINTAKE_STALL_LIMIT=2\n"
        ),
    )
    .unwrap();
    svc.ok("systemctl daemon-reload && systemctl restart secintake");
    let restarts: u32 = svc.show("NRestarts").parse().unwrap();
    let hung_at = Instant::now();
    env.deliver(&report(3));
    let journal = svc.wait_journal("Watchdog timeout", WAIT);
    wait_until(WAIT, || {
        let n: u32 = svc.show("NRestarts").parse().ok()?;
        (n > restarts).then_some(())
    })
    .expect("no automatic restart");
    println!(
        "report 3 delivered → watchdog restart in {:.1} s\n{}",
        hung_at.elapsed().as_secs_f64(),
        tail_matching(
            &svc.out("journalctl -u secintake --no-pager -o short-monotonic"),
            &[
                "Watchdog",
                "watchdog",
                "Scheduled restart",
                "progress",
                "SIGABRT",
                "Main process exited"
            ]
        )
    );
    assert!(journal.contains("no progress: withholding watchdog keep-alives"));
    assert_eq!(
        env.github.issues(REPO).len(),
        2,
        "report 3 filed while hung"
    );
    svc.ok(&format!(
        "rm {dropin} && systemctl daemon-reload && systemctl restart secintake"
    ));
    let issues = env.wait_issues(3, WAIT);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.github.issues(REPO).len(), 3, "{issues:?}");
    assert!(issues.iter().any(|i| i.title.contains(&third)));
    println!("{}", svc.status());
}

/// The journal holds the service's own lines, with their structured
/// fields (the tracking ID is the journal field F_TRACKING_ID), and no
/// secret.
pub fn journal_holds_service_lines(svc: &Service, tracking_id: &str) {
    let journal = svc.journal();
    let shown =
        svc.out("journalctl -u secintake -o short-iso --no-pager _COMM=secintake | tail -n 12");
    println!("journalctl -u secintake (the service's own lines, last 12):\n{shown}");
    let by_id = svc.out(&format!(
        "journalctl -u secintake F_TRACKING_ID={tracking_id} -o cat --no-pager"
    ));
    println!("journalctl -u secintake F_TRACKING_ID={tracking_id}:\n{by_id}");
    assert!(by_id.contains("filed"), "{by_id}\n{journal}");
    assert!(by_id.contains("acknowledged"), "{by_id}");
    for secret in [PLAINTEXT, SUBJECT, SECURITY_PW, TOKEN] {
        assert!(!journal.contains(secret), "the journal holds a secret");
    }
    let all_fields = svc.out("journalctl -u secintake -o verbose --no-pager");
    for secret in [PLAINTEXT, SUBJECT, SECURITY_PW, TOKEN] {
        assert!(
            !all_fields.contains(secret),
            "a journal field holds a secret"
        );
    }
}

pub fn remove_and_purge(svc: &Service) {
    println!("{}", svc.ok("dpkg -r secintake 2>&1"));
    svc.ok("test ! -e /usr/bin/secintake && test ! -e /usr/lib/systemd/system/secintake.service");
    svc.ok("test -f /etc/secintake/secintake.example.toml && test -d /var/lib/private/secintake");
    println!("{}", svc.ok("dpkg --purge secintake 2>&1"));
    svc.ok("test ! -e /etc/secintake/secintake.example.toml && test ! -e /etc/secintake/templates/ack.txt.j2");
    // What the package never owned stays: the state, and the operator's
    // configuration and secrets.
    svc.ok("test -f /var/lib/private/secintake/status.json");
    svc.ok(
        "test -f /etc/secintake/secintake.toml && test -f /etc/secintake/credentials/team.key.asc",
    );
    println!(
        "{}",
        svc.ok("ls -la /etc/secintake /var/lib/private/secintake")
    );
}

fn text_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// The lines holding any of `needles`, at most the last 30.
fn tail_matching(text: &str, needles: &[&str]) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
