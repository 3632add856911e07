//! GitHub Security Advisories into the directory tracker (the local trial
//! setup: Maildir, directory of issues, outbox), the sources read from the
//! GitHub fake: the reports in triage are filed as issue files, once, over
//! two `run --once`, and a later state is appended as a comment. A mail
//! report that arrives after an advisory and names its GHSA ID is linked
//! with it both ways (the other order, and a link by identifier alone).

mod common;

use common::advisories::*;
use common::offline::{self, Offline};
use secintake_testkit::github_fake::GithubFake;

fn issue_files(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("issues"))
        .map(|e| {
            e.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn advisories_are_filed_in_the_directory_tracker_once() {
    let github = GithubFake::start_on_thread(common::TOKEN).expect("GitHub fake");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    offline::maildir(dir);
    let extra = sources(&github).replace(
        "poll_interval = \"1s\"",
        &format!("poll_interval = \"1s\"\napi_url = \"{}\"", github.url),
    );
    for (f, t) in [
        ("ghsa-jupyterlab-token", LAB_TOKEN),
        ("ghsa-jupyterhub-token", HUB_TOKEN),
        ("ghsa-notebook-token", NOTEBOOK_TOKEN),
    ] {
        std::fs::write(dir.join(f), t).unwrap();
    }
    let ([lab, hub, nb], other) = seed(&github);
    let config = offline::write_config(
        dir,
        &Offline {
            extra: &extra,
            ..Offline::default()
        },
    );
    let out = offline::run_once(&config);
    offline::assert_ran(&out);
    github.update_advisory(&hub, "closed", None);
    std::fs::write(
        dir.join("inbox/new/0001.eml"),
        common::mail::plain(
            "carol@example.test",
            "Notebook files",
            "<late@example.test>",
            &format!("Hi, I also reported {nb} on GitHub; is it being looked at?"),
        ),
    )
    .unwrap();
    let out = offline::run_once(&config);
    offline::assert_ran(&out);

    let files = issue_files(dir);
    let mail_file = files
        .iter()
        .find(|f| f.starts_with("<!-- secintake:JUPSEC-"))
        .unwrap_or_else(|| panic!("the mail report was not filed: {files:#?}"));
    assert!(
        mail_file.contains(&format!("<!-- secintake:JUPSEC-{}", ""))
            && mail_file.contains(&format!("/related:{nb} -->")),
        "{mail_file}"
    );
    assert!(mail_file.contains("same GHSA ID"), "{mail_file}");
    let files: Vec<String> = files
        .into_iter()
        .filter(|f| f.starts_with("<!-- secintake:GHSA-"))
        .collect();
    assert_eq!(files.len(), 3, "{files:#?}");
    let nb_file = files
        .iter()
        .find(|f| f.starts_with(&format!("<!-- secintake:{nb} -->")))
        .unwrap();
    assert_eq!(
        nb_file
            .matches(&format!("<!-- secintake:{nb}/related:JUPSEC-"))
            .count(),
        1,
        "{nb_file}"
    );
    for ghsa in [&lab, &hub, &nb] {
        let file = files
            .iter()
            .find(|f| f.starts_with(&format!("<!-- secintake:{ghsa} -->")))
            .unwrap_or_else(|| panic!("{ghsa} not filed: {files:#?}"));
        assert!(file.contains(&format!("# [{ghsa}]")), "{file}");
    }
    assert!(!files.iter().any(|f| f.contains(&other)));
    let hub_file = files
        .iter()
        .find(|f| f.contains(&format!("secintake:{hub} -->")))
        .unwrap();
    assert_eq!(
        hub_file
            .matches(&format!("<!-- secintake:{hub}/state:1 -->"))
            .count(),
        1,
        "{hub_file}"
    );
    assert!(hub_file.contains("is now ` closed `"), "{hub_file}");
}
