//! `/ghsa draft OWNER/REPO` on a report's issue, against the GitHub fake
//! and a real Dovecot/Postfix: one draft advisory per command, created
//! with the credentials of the advisory source that covers OWNER/REPO,
//! summary from the issue title, description from the comment, linked
//! in our answer; the reporter credited only once their consent is
//! recorded (and the answer says so when it is not); a crash right after
//! GitHub created the draft, repeated passes and restarts create nothing
//! more; a repository no source covers is refused.

mod common;

use common::advisories::*;
use common::conversation::*;
use common::*;
use secintake::pipeline::credit::Consent;
use secintake::store::SledStore;

fn drafts_in(env: &Env, repo: &str) -> Vec<secintake_testkit::github_fake::FakeAdvisory> {
    env.github
        .advisories()
        .into_iter()
        .filter(|a| a.repo == repo && a.state == "draft")
        .collect()
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn ghsa_draft_creates_one_draft_per_command_crediting_only_with_consent() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let extra = format!("{}{ENABLED}", sources(&env.github));
    env.write_config(&Options {
        extra,
        ..Options::default()
    });
    write_tokens(&env);
    env.github
        .set_association(REPO, COORDINATOR, "COLLABORATOR");
    env.deliver(&mail::plain(
        REPORTER,
        "Token leak in the hub proxy",
        "<draft-1@example.test>",
        HUB_TEXT,
    ));
    run_once(&env, "daemon-1.log");
    let issue = env.wait_issues(1, WAIT).remove(0);
    let tid = tracking_id(&issue.title);

    // 1. No consent yet; the daemon dies right after GitHub created the
    //    draft, before that was recorded. The next run finds the draft by
    //    its reference line instead of creating another.
    let first = env.github.comment_as(
        REPO,
        issue.number,
        COORDINATOR,
        "/ghsa draft jupyter/notebook\nThe file handler serves files outside the root.",
    );
    run_killed(&env, "daemon-2.log", "effect.ghsa.created:1");
    assert_eq!(
        drafts_in(&env, NOTEBOOK_REPO).len(),
        1,
        "created before the crash"
    );
    run_once(&env, "daemon-3.log");
    let notebook = drafts_in(&env, NOTEBOOK_REPO);
    assert_eq!(notebook.len(), 1, "{notebook:?}");
    assert_eq!(notebook[0].summary, "Token leak in the hub proxy");
    assert!(notebook[0]
        .description
        .starts_with("The file handler serves files outside the root."));
    assert!(notebook[0].credits.is_empty(), "credited without consent");
    let said = answers(&env, issue.number);
    let (_, answer) = said
        .iter()
        .find(|(id, _)| *id == first)
        .unwrap_or_else(|| panic!("no answer to the command: {said:?}"));
    assert!(answer.contains(&notebook[0].ghsa_id), "{answer}");
    assert!(answer.contains("not credited"), "{answer}");
    assert!(answer.contains("no consent"), "{answer}");

    // 2. The reporter's consent is recorded (as the lifecycle's /credit
    //    records it), then a draft in another repository credits them.
    {
        let store = SledStore::open(&env.state_dir()).unwrap();
        Consent {
            name: "Alice Example".into(),
            github_login: Some("alice-gh".into()),
            agreed_at: chrono::Utc::now(),
        }
        .save(&store, &tid)
        .unwrap();
    }
    let second = env.github.comment_as(
        REPO,
        issue.number,
        COORDINATOR,
        "/ghsa draft jupyterhub/jupyterhub\nThe proxy leaks the API token in a redirect.",
    );
    let third = env.github.comment_as(
        REPO,
        issue.number,
        COORDINATOR,
        "/ghsa draft someone/else\nNot ours.",
    );
    run_once(&env, "daemon-4.log");
    let hub = drafts_in(&env, HUB_REPO);
    assert_eq!(hub.len(), 1, "{hub:?}");
    assert_eq!(
        hub[0].credits,
        vec![("alice-gh".to_string(), "reporter".to_string())]
    );
    let said = answers(&env, issue.number);
    let answer = &said.iter().find(|(id, _)| *id == second).unwrap().1;
    assert!(
        answer.contains(&hub[0].ghsa_id) && answer.contains("alice-gh"),
        "{answer}"
    );
    let refused = &said.iter().find(|(id, _)| *id == third).unwrap().1;
    assert!(
        refused.contains("No `[[advisories.source]]` covers"),
        "{refused}"
    );

    // 3. More passes and restarts: still one draft per command, one
    //    answer per command.
    run_once(&env, "daemon-5.log");
    run_once(&env, "daemon-6.log");
    assert_eq!(drafts_in(&env, NOTEBOOK_REPO).len(), 1);
    assert_eq!(drafts_in(&env, HUB_REPO).len(), 1);
    assert_eq!(
        env.github.advisories().len(),
        2,
        "nothing created elsewhere"
    );
    let said = answers(&env, issue.number);
    for id in [first, second, third] {
        assert_eq!(said.iter().filter(|(c, _)| *c == id).count(), 1, "{said:?}");
    }
    let creates = env
        .github
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path_only().ends_with("/security-advisories"))
        .count();
    assert_eq!(creates, 2, "one create request per command");
    // Each draft was created with its source's own token.
    for r in env.github.requests() {
        if r.method == "POST" && r.path_only() == format!("/repos/{HUB_REPO}/security-advisories") {
            assert!(r
                .header("authorization")
                .is_some_and(|a| a.ends_with(HUB_TOKEN)));
        }
    }
}
