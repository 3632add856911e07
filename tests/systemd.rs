//! From package to running service under a real systemd (issue 18).
//!
//! Builds the Debian package with `cargo deb` from the binary this test
//! run built (`--no-build --profile dev`: the failpoints build, so the
//! watchdog step can hang a pass), boots a Debian 12 root under systemd
//! 252 as PID 1 in private PID and mount namespaces
//! (`testkit::sysroot`), and walks the operator's path inside it:
//! `dpkg -i`, `secintake init`, the site values and credentials,
//! `check --offline`, `systemctl start`. Then: a report from the test
//! Dovecot becomes a GitHub (fake) issue and an acknowledgement through
//! Postfix, `systemctl reload` re-reads a changed template, a hung pass is
//! restarted by the watchdog, `systemctl stop` exits cleanly, the state
//! directory belongs to the dynamic user, the journal holds the service's
//! lines, and `dpkg -r`/`--purge` keep the state. Each step prints its
//! `systemctl status`/`journalctl` evidence and its time.
//!
//! Needs root, `unshare`/`nsenter`/`pivot_root`, `mmdebstrap` (or the
//! cached root in /var/cache/secintake-test-rootfs), `cargo deb`
//! (cargo-deb), Dovecot and Postfix; `scripts/install-deps.sh` installs
//! them. Outside CI a missing one skips loudly with the reason; with
//! `CI=true` it fails.

mod common;
#[path = "systemd/steps.rs"]
mod steps;

use std::time::Instant;

use common::*;
use secintake_testkit::require::{have_dovecot, have_postfix, is_ci, require};
use secintake_testkit::sysroot::{self, BootedRoot};
use steps::*;

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (the watchdog step): scripts/test.sh, or cargo test --features failpoints"
)]
fn package_to_running_service_under_systemd() {
    let t0 = Instant::now();
    if !require("dovecot", have_dovecot()) || !require("postfix", have_postfix()) {
        return;
    }
    if let Err(why) = sysroot::can_boot() {
        if is_ci() {
            panic!("CI=true and this machine cannot boot a systemd root: {why}");
        }
        eprintln!(
            "\n*** SKIP: this machine cannot boot a systemd root ({why}); \
             the package/systemd test did NOT run ***\n"
        );
        return;
    }
    if !require("cargo-deb (cargo install cargo-deb)", have_cargo_deb()) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");

    // 1. The package.
    let deb = step("cargo deb --no-build --profile dev", || {
        build_package(work.path())
    });
    let depends = run_host("dpkg-deb", &["-f", deb.to_str().unwrap(), "Depends"]);
    println!("Depends: {depends}");
    for dep in ["libssl3", "ca-certificates", "procps"] {
        assert!(depends.contains(dep), "{depends}");
    }
    let listing = run_host("dpkg-deb", &["-c", deb.to_str().unwrap()]);
    println!("dpkg -c {}:\n{listing}", deb.display());
    for path in [
        "./usr/bin/secintake",
        "./etc/secintake/secintake.example.toml",
        "./etc/secintake/templates/reminder.md.j2",
        "./usr/share/secintake/keys/jupyter-security.pub.asc",
        "./usr/share/doc/secintake/install.md",
        "secintake.service",
    ] {
        assert!(listing.contains(path), "{path} not in the package");
    }

    // 2. A fresh Debian 12 under systemd, and the servers on loopback.
    let tarball = step("root tarball (cached)", || {
        sysroot::rootfs_tarball().expect("mmdebstrap")
    });
    let root = step("boot systemd as PID 1", || {
        BootedRoot::boot(&tarball).expect("boot")
    });
    println!("{}", root.sh("systemctl --version | head -1").unwrap().1);
    let env = Env::start(Options::default()).expect("servers");

    // 3. Install: nothing started, nothing enabled.
    std::fs::copy(&deb, root.path("/root/secintake.deb")).expect("copy deb");
    let svc = Service { root: &root };
    step("dpkg -i", || svc.ok("dpkg -i /root/secintake.deb"));
    assert_eq!(
        svc.out("systemctl is-enabled secintake || true"),
        "disabled"
    );
    assert_eq!(svc.out("systemctl is-active secintake || true"), "inactive");
    let conffiles = svc.ok("dpkg-query -W -f='${Conffiles}' secintake");
    assert!(conffiles.contains("/etc/secintake/templates/ack.txt.j2"));
    assert!(conffiles.contains("/etc/secintake/secintake.example.toml"));

    // 4. The guide: init, then the example names only SITE paths missing.
    step("secintake init --dir /etc/secintake", || {
        svc.ok("secintake init --dir /etc/secintake")
    });
    let example =
        svc.sh("secintake --config /etc/secintake/secintake.example.toml check --offline");
    assert_example_problems_are_site_values(&root, &example.1);

    // 5. The site values and the credentials, then check passes.
    fill_in_site_values(&root, &env);
    let (ok, check) = svc.sh("secintake --config /etc/secintake/secintake.toml check --offline");
    println!("check --offline:\n{check}");
    assert!(ok, "check --offline failed:\n{check}");
    step("check as the service (systemd-run, DynamicUser)", || {
        check_as_the_service(&svc)
    });

    // 6. Start: active (running) only after READY, which follows the first
    // pass, so the report waiting in the INBOX is filed by then.
    env.deliver(&report(1));
    step("systemctl start secintake", || {
        start_until_ready(&svc, &env)
    });
    println!("{}", svc.status());
    let issues = env.wait_issues(1, WAIT);
    assert_eq!(issues.len(), 1);
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);
    assert!(text(&acks[0]).contains(&tracking_id(&issues[0].title)));
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 1, WAIT);
    state_dir_belongs_to_dynamic_user(&svc);

    // 7. Reload re-reads a changed template.
    step("systemctl reload (changed ack template)", || {
        reload_changes_template(&svc, &env)
    });

    // 8. A hung pass: the watchdog kills and systemd restarts the service.
    step("watchdog restarts a hung pass", || {
        watchdog_restarts_hung_pass(&svc, &env)
    });

    // 9. Stop: clean exit; the journal holds the service's lines.
    step("systemctl stop", || {
        svc.ok("systemctl stop secintake");
        let show = svc.out("systemctl show -p Result -p ExecMainCode -p ExecMainStatus secintake");
        println!("{show}\n{}", svc.status());
        assert!(show.contains("Result=success"), "{show}");
        assert!(show.contains("ExecMainStatus=0"), "{show}");
    });
    journal_holds_service_lines(&svc, &tracking_id(&issues[0].title));

    // 10. Remove keeps configuration and state; purge keeps state.
    step("dpkg -r, dpkg --purge", || remove_and_purge(&svc));
    println!("systemd test: {:.1} s in all", t0.elapsed().as_secs_f64());
}
