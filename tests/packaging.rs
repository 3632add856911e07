//! The Debian package's contents (`[package.metadata.deb]` in Cargo.toml)
//! agree with what the unit, the example configuration and `init` name:
//! every path the example uses is shipped, made by systemd, or marked SITE
//! (the operator's to provide); the unit runs the shipped binary; every
//! credential the unit loads is one `init` tells the operator to provide.
//! `tests/systemd.rs` installs the real package and checks the same paths
//! with `check --offline` inside a booted Debian 12.

mod common;

use std::collections::BTreeSet;

use common::repo_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap()
}

/// `(source, installed path)` of each asset; a glob stands for its
/// directory. Every source but the built binary exists in the repository.
fn shipped() -> BTreeSet<String> {
    let cargo: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let assets = cargo["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .expect("assets")
        .clone();
    let mut out = BTreeSet::new();
    for a in assets {
        let src = a[0].as_str().unwrap();
        let dest = format!("/{}", a[1].as_str().unwrap().trim_start_matches('/'));
        if let Some((dir, _)) = src.rsplit_once("/*") {
            let n = std::fs::read_dir(repo_root().join(dir)).unwrap().count();
            assert!(n > 0, "{src} matches nothing");
            out.insert(dest.trim_end_matches('/').to_string());
            continue;
        }
        if !src.starts_with("target/") {
            assert!(repo_root().join(src).is_file(), "asset {src} is missing");
        }
        let installed = if dest.ends_with('/') {
            format!("{dest}{}", src.rsplit('/').next().unwrap())
        } else {
            dest
        };
        out.insert(installed);
    }
    out
}

fn unit() -> String {
    read("systemd/secintake.service")
}

fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_unit_runs_the_shipped_binary_and_documentation() {
    let files = shipped();
    let unit = unit();
    let exec = unit_values(&unit, "ExecStart")[0];
    let binary = exec.split_whitespace().next().unwrap();
    assert!(files.contains(binary), "{binary} is not shipped: {files:?}");
    assert!(exec.contains("--config /etc/secintake/secintake.toml"));
    let doc = unit_values(&unit, "Documentation")[0];
    let doc = doc.strip_prefix("file://").unwrap();
    assert!(files.contains(doc), "{doc} is not shipped");
}

#[test]
fn the_unit_loads_exactly_the_credentials_init_asks_for() {
    let unit = unit();
    let loaded: BTreeSet<&str> = unit_values(&unit, "LoadCredential")
        .iter()
        .map(|v| v.split(':').next().unwrap())
        .collect();
    let asked: BTreeSet<&str> = secintake::ops::init::CREDENTIALS.iter().copied().collect();
    assert_eq!(loaded, asked);
    for v in unit_values(&unit, "LoadCredential") {
        let (id, path) = v.split_once(':').unwrap();
        assert_eq!(path, format!("/etc/secintake/credentials/{id}"));
    }
}

/// The keys whose values are paths.
fn is_path_key(key: &str) -> bool {
    key.ends_with("_file")
        || key.ends_with("_keys")
        || matches!(
            key,
            "secret_keys" | "verification_keyring" | "templates" | "path" | "state_dir"
        )
}

#[test]
fn every_path_in_the_example_is_shipped_made_by_systemd_or_marked_site() {
    let files = shipped();
    let state_dir = format!("/var/lib/{}", unit_values(&unit(), "StateDirectory")[0]);
    let example = read("config/secintake.example.toml");
    let lines: Vec<&str> = example.lines().collect();
    let mut checked = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        let key = key.trim();
        if line.starts_with('#') || !is_path_key(key) {
            continue;
        }
        checked += 1;
        let site = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with('#'))
            .any(|l| l.contains("SITE"));
        if site {
            continue;
        }
        for path in value.split('"').skip(1).step_by(2) {
            assert!(
                files.contains(path) || path == state_dir,
                "line {}: `{line}`: {path} is neither shipped nor marked SITE",
                i + 1
            );
        }
    }
    assert!(checked >= 10, "only {checked} path keys found");
}

/// The example's placeholder hosts are marked as the operator's.
#[test]
fn placeholder_hosts_in_the_example_are_marked_site() {
    let example = read("config/secintake.example.toml");
    let lines: Vec<&str> = example.lines().collect();
    let mut found = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("host = ") {
            found += 1;
            assert!(
                lines[i - 1].starts_with('#') && lines[i - 1].contains("SITE"),
                "line {}: {line} not marked SITE",
                i + 1
            );
        }
    }
    assert_eq!(found, 2);
}
