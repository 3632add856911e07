//! Coordinator commands in tracking-issue comments: the one parser and the
//! one table of commands ([`COMMANDS`]), documented here and nowhere else.
//!
//! A comment is a command when its **first line** starts with `/` and a
//! word of letters and dashes (`/reply`, `/Notice`); names and keywords are
//! case-insensitive. Everything after the first line is the command's text.
//! Any other comment is just a comment. A first line that looks like a
//! command but is not one of the table, or has bad arguments, is a
//! [`ParseError`] whose text shows the syntax (secintake answers with it on
//! the issue).
//!
//! | command | what it does |
//! |---|---|
//! | `/reply [plain]` | mails the text below the first line to the reporter |
//! | `/notice needs-info` | asks the reporter for more information |
//! | `/notice not-accepted` | tells the reporter the report is not accepted |
//! | `/notice cve CVE-YYYY-NNNN` | tells the reporter the CVE ID |
//! | `/notice released VERSION…` | tells the reporter the fixed releases |
//! | `/notice credit` | asks the reporter how they want to be credited |
//! | `/accept` | the team accepts the report as a vulnerability |
//! | `/reject` | the team does not accept it (no disclosure reminders) |
//! | `/duplicate #N` | it duplicates issue N (no disclosure reminders) |
//! | `/disclose-by YYYY-MM-DD` | moves the disclosure date (default: received + 90 days) |
//! | `/release-date YYYY-MM-DD` | the planned release date |
//! | `/announce-date YYYY-MM-DD` | the planned announcement date |
//! | `/ghsa GHSA-xxxx-xxxx-xxxx` | links the advisory (a pasted advisory URL in any coordinator comment does too) |
//! | `/cve CVE-YYYY-NNNN` | links the CVE ID |
//! | `/credit "Name (handle)"` | how the reporter is to be credited |
//! | `/ghsa draft OWNER/REPO` | creates a draft repository advisory from the report |
//!
//! `plain` sends without encryption even when the report came encrypted
//! and no key of the reporter is known (otherwise nothing is sent in clear).
//! A notice adds any text below its first line to its template. The
//! lifecycle commands ([`lifecycle`]) send no mail: they change the
//! report's lifecycle, shown in the status block on its issue.

pub mod lifecycle;

use std::fmt;

pub use lifecycle::Change;

/// The table of commands: name, syntax, what it does.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "reply",
        "/reply [plain]",
        "mail the text below the first line to the reporter",
    ),
    (
        "notice",
        "/notice needs-info | not-accepted | cve CVE-YYYY-NNNN | released VERSION… | credit",
        "mail a templated notice to the reporter, with the text below the first line added",
    ),
    ("accept", "/accept", "the team accepts the report"),
    ("reject", "/reject", "the team does not accept the report"),
    (
        "duplicate",
        "/duplicate #N",
        "the report duplicates issue N",
    ),
    (
        "disclose-by",
        "/disclose-by YYYY-MM-DD",
        "move the disclosure date",
    ),
    (
        "release-date",
        "/release-date YYYY-MM-DD",
        "set the planned release date",
    ),
    (
        "announce-date",
        "/announce-date YYYY-MM-DD",
        "set the planned announcement date",
    ),
    (
        "ghsa",
        "/ghsa GHSA-xxxx-xxxx-xxxx | draft OWNER/REPO",
        "link the GitHub security advisory, or create a draft advisory in OWNER/REPO from the report (the text below the first line its description)",
    ),
    ("cve", "/cve CVE-YYYY-NNNN", "link the CVE ID"),
    (
        "credit",
        "/credit \"Name (handle)\"",
        "how the reporter is to be credited",
    ),
];

/// Most versions `/notice released` takes.
const MAX_VERSIONS: usize = 20;

/// A templated notice to the reporter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Notice {
    NeedsInfo,
    NotAccepted,
    Cve { id: String },
    Released { versions: Vec<String> },
    Credit,
}

impl Notice {
    /// The kind as written in the command (`needs-info`, `cve`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Notice::NeedsInfo => "needs-info",
            Notice::NotAccepted => "not-accepted",
            Notice::Cve { .. } => "cve",
            Notice::Released { .. } => "released",
            Notice::Credit => "credit",
        }
    }

    /// Its template: `notice-KIND.txt.j2`.
    pub fn template(&self) -> String {
        format!("notice-{}.txt.j2", self.name())
    }

    /// One of each kind, with sample arguments (for `check`).
    pub fn samples() -> Vec<Notice> {
        vec![
            Notice::NeedsInfo,
            Notice::NotAccepted,
            Notice::Cve {
                id: "CVE-2026-12345".into(),
            },
            Notice::Released {
                versions: vec!["4.2.1".into(), "3.6.9".into()],
            },
            Notice::Credit,
        ]
    }
}

/// What a command comment asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// The coordinator's own text to the reporter.
    Reply {
        plain: bool,
    },
    Notice(Notice),
    /// A lifecycle change: no mail.
    Change(Change),
    /// A draft repository advisory in `repo` (`owner/name`).
    GhsaDraft {
        repo: String,
    },
}

impl Command {
    /// The command as a short label for logs and comments (`reply`,
    /// `notice cve`): no arguments, no text.
    pub fn label(&self) -> String {
        match self {
            Command::Reply { plain: false } => "reply".into(),
            Command::Reply { plain: true } => "reply plain".into(),
            Command::Notice(n) => format!("notice {}", n.name()),
            Command::Change(c) => c.name().into(),
            Command::GhsaDraft { repo } => format!("ghsa draft {repo}"),
        }
    }

    /// Whether it mails the reporter.
    pub fn mails(&self) -> bool {
        !matches!(self, Command::Change(_))
    }

    /// Whether it may go out in clear to a reporter who wrote encrypted.
    pub fn plain(&self) -> bool {
        matches!(self, Command::Reply { plain: true })
    }
}

/// A parsed command comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub command: Command,
    /// The comment below its first line, trimmed (may be empty for notices).
    pub text: String,
}

/// A first line that looks like a command but is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong, e.g. "unknown notice kind".
    pub problem: String,
    /// The syntax of the command meant, or of every command.
    pub usage: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; usage: {}", self.problem, self.usage)
    }
}

fn usage_of(name: &str) -> String {
    COMMANDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, u, _)| u.to_string())
        .unwrap_or_else(all_usage)
}

fn all_usage() -> String {
    COMMANDS
        .iter()
        .map(|(_, u, _)| *u)
        .collect::<Vec<_>>()
        .join(" ; ")
}

fn error(name: &str, problem: impl Into<String>) -> ParseError {
    ParseError {
        problem: problem.into(),
        usage: usage_of(name),
    }
}

/// `CVE-YYYY-NNNN…` (4 to 7 digits after the year), upper-cased.
fn cve_id(arg: &str) -> Option<String> {
    let id = arg.to_ascii_uppercase();
    let mut parts = id.split('-');
    let ok = parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| (4..=7).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none();
    ok.then_some(id)
}

/// `owner/name` as GitHub allows them.
fn repository(arg: &str) -> Option<String> {
    let (o, n) = arg.split_once('/')?;
    let ok = |x: &str| {
        (1..=100).contains(&x.len())
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (ok(o) && ok(n)).then(|| arg.to_string())
}

/// A version: 1 to 64 of `[A-Za-z0-9._+-]`, starting alphanumeric.
fn version(arg: &str) -> bool {
    (1..=64).contains(&arg.len())
        && arg.starts_with(|c: char| c.is_ascii_alphanumeric())
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
}

fn notice(args: &[&str]) -> Result<Notice, ParseError> {
    let e = |p: String| error("notice", p);
    let Some((kind, rest)) = args.split_first() else {
        return Err(e("no notice kind given".into()));
    };
    let no_args = |n: Notice| {
        if rest.is_empty() {
            Ok(n)
        } else {
            Err(e(format!("`{}` takes no arguments", n.name())))
        }
    };
    match kind.to_ascii_lowercase().as_str() {
        "needs-info" => no_args(Notice::NeedsInfo),
        "not-accepted" => no_args(Notice::NotAccepted),
        "credit" => no_args(Notice::Credit),
        "cve" => match rest {
            [one] => cve_id(one)
                .map(|id| Notice::Cve { id })
                .ok_or_else(|| e("the CVE ID must look like CVE-2026-12345".into())),
            _ => Err(e("`cve` takes exactly one CVE ID".into())),
        },
        "released" => {
            let versions: Vec<String> = rest
                .iter()
                .flat_map(|a| a.split(','))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect();
            if versions.is_empty() {
                return Err(e("`released` needs at least one version".into()));
            }
            if versions.len() > MAX_VERSIONS {
                return Err(e(format!(
                    "`released` takes at most {MAX_VERSIONS} versions"
                )));
            }
            if versions.iter().any(|v| !version(v)) {
                return Err(e(
                    "a version is letters, digits and . _ + - (at most 64)".into()
                ));
            }
            Ok(Notice::Released { versions })
        }
        _ => Err(e("unknown notice kind".into())),
    }
}

/// The command in `body`'s first line: None when the comment is not a
/// command at all.
pub fn parse(body: &str) -> Option<Result<Parsed, ParseError>> {
    let body = body.trim_start_matches('\u{feff}');
    let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
    let mut words = first.split_whitespace();
    let name = words.next()?.strip_prefix('/')?;
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
    {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let args: Vec<&str> = words.collect();
    let line = first
        .trim_start()
        .split_once(char::is_whitespace)
        .map_or("", |(_, l)| l);
    let text = rest.trim().to_string();
    let command = match name.as_str() {
        "reply" => match args.as_slice() {
            [] => Command::Reply { plain: false },
            [p] if p.eq_ignore_ascii_case("plain") => Command::Reply { plain: true },
            _ => return Some(Err(error("reply", "unknown argument to /reply"))),
        },
        "notice" => match notice(&args) {
            Ok(n) => Command::Notice(n),
            Err(e) => return Some(Err(e)),
        },
        "ghsa"
            if args
                .first()
                .is_some_and(|d| d.eq_ignore_ascii_case("draft")) =>
        {
            match args.as_slice() {
                [_, repo] => match repository(repo) {
                    Some(repo) => Command::GhsaDraft { repo },
                    None => return Some(Err(error("ghsa", "the repository must be OWNER/REPO"))),
                },
                _ => return Some(Err(error("ghsa", "/ghsa draft takes one OWNER/REPO"))),
            }
        }
        _ => match lifecycle::parse(&name, &args, line) {
            Some(Ok(c)) => Command::Change(c),
            Some(Err(e)) => return Some(Err(e)),
            None => {
                return Some(Err(ParseError {
                    problem: format!("unknown command /{name}"),
                    usage: all_usage(),
                }))
            }
        },
    };
    if matches!(command, Command::GhsaDraft { .. }) && text.is_empty() {
        return Some(Err(error(
            "ghsa",
            "no description: write the advisory's description below the first line",
        )));
    }
    if matches!(command, Command::Reply { .. }) && text.is_empty() {
        return Some(Err(error(
            "reply",
            "nothing to send: write the text below the first line",
        )));
    }
    Some(Ok(Parsed { command, text }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Parsed {
        parse(body).expect("a command").expect("valid")
    }

    fn err(body: &str) -> ParseError {
        parse(body).expect("a command").expect_err("invalid")
    }

    #[test]
    fn ordinary_comments_are_not_commands() {
        for body in [
            "",
            "Looks like a real bug.",
            "/path/to/file is affected",
            "/ reply",
            "/1st",
            "Thanks\n/reply\nnot on the first line",
            "<!-- secintake:JUPSEC-2026-0001 reply:5 -->\n/reply\nours",
        ] {
            assert_eq!(parse(body), None, "{body:?}");
        }
    }

    #[test]
    fn reply_takes_the_rest_of_the_comment() {
        let p = ok("/reply\r\nHello,\n\nthanks for the details.\n");
        assert_eq!(p.command, Command::Reply { plain: false });
        assert_eq!(p.text, "Hello,\n\nthanks for the details.");
        assert_eq!(
            ok("/REPLY Plain\nhi").command,
            Command::Reply { plain: true }
        );
        assert!(ok("/Reply   \nhi").command == Command::Reply { plain: false });
        let e = err("/reply");
        assert!(e.problem.contains("nothing to send"), "{e}");
        assert!(err("/reply loudly\nx")
            .to_string()
            .contains("/reply [plain]"));
    }

    #[test]
    fn notices_and_their_arguments() {
        assert_eq!(
            ok("/notice needs-info").command,
            Command::Notice(Notice::NeedsInfo)
        );
        assert_eq!(
            ok("/NOTICE Not-Accepted\nout of scope").text,
            "out of scope"
        );
        assert_eq!(
            ok("/notice cve cve-2026-31337").command,
            Command::Notice(Notice::Cve {
                id: "CVE-2026-31337".into()
            })
        );
        assert_eq!(
            ok("/notice released 4.2.1, 3.6.9 v5.0.0rc1").command,
            Command::Notice(Notice::Released {
                versions: vec!["4.2.1".into(), "3.6.9".into(), "v5.0.0rc1".into()]
            })
        );
        assert_eq!(
            ok("/notice credit").command,
            Command::Notice(Notice::Credit)
        );
        for (body, problem) in [
            ("/notice", "no notice kind"),
            ("/notice thanks", "unknown notice kind"),
            ("/notice cve", "exactly one"),
            ("/notice cve 2026-1", "CVE-2026-12345"),
            ("/notice cve CVE-26-1234", "CVE-2026-12345"),
            ("/notice cve CVE-2026-123", "CVE-2026-12345"),
            ("/notice cve CVE-2026-1234 CVE-2026-1235", "exactly one"),
            ("/notice released", "at least one"),
            ("/notice released 1.0;rm", "letters, digits"),
            ("/notice credit please", "no arguments"),
        ] {
            let e = err(body);
            assert!(e.problem.contains(problem), "{body}: {e}");
            assert!(e.usage.starts_with("/notice "), "{body}: {e}");
        }
        let many = format!("/notice released {}", vec!["1.0"; 21].join(" "));
        assert!(err(&many).problem.contains("at most"));
    }

    #[test]
    fn ghsa_draft_names_a_repository_and_needs_a_description() {
        let p = ok("/ghsa draft jupyterhub/jupyterhub\nThe proxy leaks tokens.");
        assert_eq!(
            p.command,
            Command::GhsaDraft {
                repo: "jupyterhub/jupyterhub".into()
            }
        );
        assert_eq!(p.text, "The proxy leaks tokens.");
        assert_eq!(p.command.label(), "ghsa draft jupyterhub/jupyterhub");
        for (body, problem) in [
            ("/ghsa draft jupyterhub/jupyterhub", "no description"),
            ("/ghsa draft jupyterhub\nx", "OWNER/REPO"),
            ("/ghsa draft a/b/c\nx", "OWNER/REPO"),
            ("/ghsa draft a/b;rm\nx", "OWNER/REPO"),
            ("/ghsa draft\nx", "takes one OWNER/REPO"),
        ] {
            let e = err(body);
            assert!(e.problem.contains(problem), "{body}: {e}");
            assert_eq!(
                e.usage, "/ghsa GHSA-xxxx-xxxx-xxxx | draft OWNER/REPO",
                "{body}"
            );
        }
    }

    #[test]
    fn unknown_commands_show_every_syntax() {
        let e = err("/acept");
        assert_eq!(e.problem, "unknown command /acept");
        for (_, usage, _) in COMMANDS {
            assert!(e.usage.contains(usage), "{e}");
        }
    }

    #[test]
    fn labels_and_templates() {
        assert_eq!(Command::Reply { plain: true }.label(), "reply plain");
        let names: Vec<String> = Notice::samples().iter().map(Notice::template).collect();
        assert_eq!(
            names,
            [
                "notice-needs-info.txt.j2",
                "notice-not-accepted.txt.j2",
                "notice-cve.txt.j2",
                "notice-released.txt.j2",
                "notice-credit.txt.j2"
            ]
        );
    }
}
