//! Reading whole configurations: the sections' shared shapes (required
//! sections, "kind + sub-section") and that every problem is reported.

use std::path::Path;

use super::{MailerSettings, Settings, SourceSettings, TrackerSettings};

const DEMO: &str = include_str!("../../config/demo.toml");

fn problems(text: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    match Settings::parse(text, &path) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn the_demo_configuration_reads_with_each_kind_chosen() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    let s = Settings::parse(DEMO, &path).expect("demo config is valid");
    assert!(matches!(s.source, SourceSettings::Maildir(_)));
    assert!(matches!(s.tracker, TrackerSettings::Directory(_)));
    assert!(matches!(s.mailer, MailerSettings::Outbox(_)));
}

#[test]
fn missing_required_sections_are_each_named() {
    let p = problems("");
    for section in [
        "instance",
        "source",
        "openpgp",
        "tracker",
        "mailer",
        "acknowledgement",
    ] {
        let want = format!("{section}: section is required");
        assert!(p.contains(&want), "{want} not in {p:?}");
    }
}

#[test]
fn kind_and_sub_section_problems() {
    let unknown = DEMO.replace("kind = \"maildir\"", "kind = \"pop3\"");
    assert_eq!(
        problems(&unknown),
        ["source.kind: must be \"imap\" or \"maildir\""]
    );
    let no_sub = DEMO.replace("[mailer.outbox]\npath = \"demo-out/outbox\"\n", "");
    assert_eq!(
        problems(&no_sub),
        ["mailer.outbox: section is required when mailer.kind = \"outbox\""]
    );
    let typo = DEMO.replace("[tracker.directory]", "[tracker.directory]\npaht = 1");
    assert_eq!(
        problems(&typo),
        ["tracker.directory.paht: is not a known setting"]
    );
}

#[test]
fn a_window_longer_than_ten_years_is_refused_when_read() {
    let long = DEMO.replace(
        "disclosure_window = \"90d\"",
        "disclosure_window = \"5000w\"",
    );
    let p = problems(&long);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("acknowledgement.disclosure_window:"),
        "{p:?}"
    );
    assert!(p[0].contains("ten years"), "{p:?}");
}

#[test]
fn channel_keys_are_read_and_bad_entries_named() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    let good = DEMO.replace(
        "state_dir = \"demo-out/state\"",
        "state_dir = \"demo-out/state\"\nlist_ids = [\"<Security.IPython.org>\"]\nteam_addresses = [\"@Jupyter.org\", \"carol@example.org\"]\nacknowledge_team_forwards = true",
    );
    let s = Settings::parse(&good, &path).expect("valid");
    let c = &s.instance.channels;
    assert_eq!(c.list_ids, ["security.ipython.org"]);
    assert!(c.team.contains("anyone@jupyter.org"));
    assert!(c.team.contains("Carol@example.org"));
    assert!(c.acknowledge_team_forwards);
    // Unset: no lists, no team, forwards not acknowledged.
    let s = Settings::parse(DEMO, &path).expect("valid");
    assert!(s.instance.channels.list_ids.is_empty());
    assert!(s.instance.channels.team.is_empty());
    assert!(!s.instance.channels.acknowledge_team_forwards);

    let bad = DEMO.replace(
        "state_dir = \"demo-out/state\"",
        "state_dir = \"demo-out/state\"\nlist_ids = [\"Security list <security.ipython.org>\"]\nteam_addresses = [\"jupyter.org\"]\nacknowledge_team_forwards = \"yes\"",
    );
    let p = problems(&bad);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p[0].starts_with("instance.list_ids: each entry must be a List-Id"),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("instance.team_addresses: each entry must be an address (carol@example.org) or a whole domain (@example.org)"),
        "{p:?}"
    );
    assert!(
        p[2].starts_with("instance.acknowledge_team_forwards:"),
        "{p:?}"
    );
    // Values are never quoted back.
    assert!(
        !p.iter()
            .any(|x| x.contains("jupyter.org\"") || x.contains("Security list")),
        "{p:?}"
    );
}
