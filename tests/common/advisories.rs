//! GitHub Security Advisory sources for the tests: two organisations and
//! one repository in the GitHub fake, each source with its own token file,
//! and the `[advisories]` configuration that reads them.

use secintake_testkit::github_fake::{triage_report, FakeAdvisory, FakeIssue, GithubFake};

use super::{Env, REPO};

pub const LAB_REPO: &str = "jupyterlab/jupyterlab";
pub const HUB_REPO: &str = "jupyterhub/jupyterhub";
pub const NOTEBOOK_REPO: &str = "jupyter/notebook";
/// In an organisation no source lists (only `jupyter/notebook` is).
pub const OTHER_REPO: &str = "jupyter/nbviewer";
pub const LAB_TOKEN: &str = "ghp_advisories_jupyterlab_0001";
pub const HUB_TOKEN: &str = "ghp_advisories_jupyterhub_0002";
pub const NOTEBOOK_TOKEN: &str = "ghp_advisories_notebook_0003";

/// The text of the hub report, sent both as a GHSA and by mail.
pub const HUB_TEXT: &str = "The JupyterHub proxy forwards the API token of the logged-in user in the Location header of a redirect to an external host when the next parameter of the login page points outside the hub. An attacker who sends a crafted login link receives the token of every user who follows it and can then act as that user on the hub API, start their servers and read their notebooks.";

/// Creates the repositories and tokens; returns the `[advisories]`
/// configuration (write the token files with [`write_tokens`]).
pub fn sources(github: &GithubFake) -> String {
    for r in [LAB_REPO, HUB_REPO, NOTEBOOK_REPO, OTHER_REPO] {
        github.create_repo(r);
    }
    for t in [LAB_TOKEN, HUB_TOKEN, NOTEBOOK_TOKEN] {
        github.add_token(t);
    }
    r#"
[advisories]
poll_interval = "1s"

[[advisories.source]]
org = "jupyterlab"
token_file = "ghsa-jupyterlab-token"

[[advisories.source]]
org = "jupyterhub"
token_file = "ghsa-jupyterhub-token"

[[advisories.source]]
repo = "jupyter/notebook"
token_file = "ghsa-notebook-token"
"#
    .to_string()
}

pub fn write_tokens(env: &Env) {
    for (f, t) in [
        ("ghsa-jupyterlab-token", LAB_TOKEN),
        ("ghsa-jupyterhub-token", HUB_TOKEN),
        ("ghsa-notebook-token", NOTEBOOK_TOKEN),
    ] {
        std::fs::write(env.path(f), format!("{t}\n")).unwrap();
    }
}

/// The five advisories in the sources (three private vulnerability
/// reports in triage, a maintainers' draft, a published one) and one in
/// triage outside them. Returns the GHSA IDs of the three in triage
/// (lab, hub, notebook) and of the one outside.
pub fn seed(github: &GithubFake) -> ([String; 3], String) {
    let mut lab = triage_report(
        "Stored XSS in the Markdown preview",
        "A notebook with a crafted Markdown cell runs script in JupyterLab's preview pane when opened, with the user's session.",
        "lab-finder",
    );
    lab.packages = vec![("pip".into(), "jupyterlab".into(), "< 4.2.5".into())];
    let lab_id = github.add_advisory(LAB_REPO, lab);
    github.add_advisory(
        LAB_REPO,
        FakeAdvisory {
            state: "draft".into(),
            author: "lab-maintainer".into(),
            credits: Vec::new(),
            ..triage_report("Maintainers' own draft", "Not a report.", "lab-maintainer")
        },
    );
    let mut hub = triage_report(
        "Token leak in the hub proxy redirect",
        HUB_TEXT,
        "hub-finder",
    );
    hub.severity = Some("critical".into());
    hub.packages = vec![("pip".into(), "jupyterhub".into(), "< 5.1.0".into())];
    let hub_id = github.add_advisory(HUB_REPO, hub);
    github.add_advisory(
        HUB_REPO,
        FakeAdvisory {
            state: "published".into(),
            cve_id: Some("CVE-2025-11111".into()),
            ..triage_report(
                "An old published advisory",
                "Fixed long ago.",
                "hub-maintainer",
            )
        },
    );
    let nb_id = github.add_advisory(
        NOTEBOOK_REPO,
        triage_report(
            "Path traversal in the notebook file handler",
            "GET /files/..%2f..%2fetc/passwd returns files outside the root directory.",
            "nb-finder",
        ),
    );
    let other_id = github.add_advisory(
        OTHER_REPO,
        triage_report("Outside every source", "Never listed.", "someone"),
    );
    ([lab_id, hub_id, nb_id], other_id)
}

/// The tracking repository's issues filed for advisories.
pub fn advisory_issues(github: &GithubFake) -> Vec<FakeIssue> {
    github
        .issues(REPO)
        .into_iter()
        .filter(|i| i.title.starts_with("[GHSA-"))
        .collect()
}

/// The issue filed for `ghsa_id`.
pub fn issue_of(github: &GithubFake, ghsa_id: &str) -> Option<FakeIssue> {
    advisory_issues(github)
        .into_iter()
        .find(|i| i.body.starts_with(&format!("<!-- secintake:{ghsa_id} -->")))
}
