use std::time::Duration;

use super::{Problems, Section};

fn section(text: &str) -> Section {
    Section::root(toml::from_str(text).expect("test TOML parses"))
}

fn keys(p: &Problems) -> Vec<String> {
    p.0.iter().map(|x| x.key.clone()).collect()
}

#[test]
fn every_problem_is_collected_with_its_dotted_key() {
    let mut root =
        section("[source]\nkind = 7\n[source.imap]\nport = 70000\nidle = \"yes\"\ntypo = 1\n");
    let mut p = Problems::default();
    let mut source = root.section("source", &mut p);
    assert_eq!(source.opt_string("kind", &mut p), None);
    let mut imap = source.section("imap", &mut p);
    assert_eq!(imap.port("port", 993, &mut p), 993);
    assert!(imap.bool_or("idle", true, &mut p));
    assert_eq!(imap.string("host", &mut p), None);
    imap.finish(&mut p);
    source.finish(&mut p);
    root.finish(&mut p);
    assert_eq!(
        keys(&p),
        [
            "source.kind",
            "source.imap.port",
            "source.imap.idle",
            "source.imap.host",
            "source.imap.typo",
        ]
    );
    assert!(p.0[4].message.contains("not a known setting"));
}

#[test]
fn problems_never_echo_the_value() {
    let mut s = section("password = 12345\nlist = [\"a\", 987654]\nwhen = \"3parsecs\"\n");
    let mut p = Problems::default();
    s.opt_string("password", &mut p);
    s.string_list("list", &mut p);
    s.duration_or("when", Duration::from_secs(1), &mut p);
    assert_eq!(p.0.len(), 3);
    for problem in &p.0 {
        let shown = problem.to_string();
        for secret in ["12345", "987654", "3parsecs"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[test]
fn defaults_apply_when_absent_and_after_a_bad_value() {
    let mut s = section("n = -1\nd = \"90s\"\n");
    let mut p = Problems::default();
    assert_eq!(s.number_or::<u32>("n", 0..=10, 5, &mut p), 5);
    assert_eq!(s.number_or::<u32>("absent", 0..=10, 6, &mut p), 6);
    assert_eq!(
        s.duration_or("d", Duration::ZERO, &mut p),
        Duration::from_secs(90)
    );
    assert_eq!(s.string_or("name", "x", &mut p), "x");
    assert_eq!(keys(&p), ["n"]);
    assert!(p.0[0].message.contains("from 0 to 10"));
}

#[test]
fn a_scalar_where_a_table_belongs_is_named() {
    let mut s = section("limits = 3\n");
    let mut p = Problems::default();
    let sub = s.section("limits", &mut p);
    assert!(!sub.is_present());
    assert_eq!(keys(&p), ["limits"]);
    let absent = s.section("metrics", &mut p);
    assert!(!absent.is_present());
    assert_eq!(p.0.len(), 1);
}
