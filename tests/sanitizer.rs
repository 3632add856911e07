//! The sanitiser, end to end: hostile reports go through the real daemon
//! (`run --once`, Maildir source, directory tracker: the same composer and
//! templates as GitHub) and every issue body is parsed with a CommonMark +
//! GFM parser (pulldown-cmark) as the oracle for what GitHub would render.
//!
//! For every case: the reporter's text arrives complete inside code; outside
//! code there is no @mention, no `#N`/`GH-N`/`owner/repo#N` reference, no
//! GitHub URL, no image, no HTML but our own (marker, `<details>`); the
//! marker appears once, on the first line; every body fits GitHub's limit.
//! Run with `--nocapture` to see the table of attacks and what shows.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

const LIMIT: usize = 65_536;

struct Case {
    name: &'static str,
    text: String,
    subject: &'static str,
    from: &'static str,
    attachment: Option<(&'static str, &'static str)>,
}

fn case(name: &'static str, text: &str) -> Case {
    Case {
        name,
        text: text.to_string(),
        subject: "",
        from: "Alice <alice@example.test>",
        attachment: None,
    }
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        case("mention", "@jupyter/security-team and @minrk please look"),
        case("team mention mid-line", "cc @jupyterhub/maintainers, thanks"),
        case(
            "closing keywords",
            "Fixes #1\nCloses jupyter/notebook#5\nresolves GH-7\nfixed: jupyter/security-reports#2",
        ),
        case(
            "full issue URL",
            "see https://github.com/jupyter/security-reports/issues/1 and https://github.com/jupyter/notebook/pull/9",
        ),
        case(
            "HTML beacon",
            "<img src=\"https://evil.example/beacon.gif\" width=1 height=1>",
        ),
        case("Markdown image", "![x](https://evil.example/track.png)"),
        case(
            "reference image",
            "![a][b]\n\n[b]: https://evil.example/ref.png",
        ),
        case("autolink image", "<https://evil.example/auto.png>"),
        case(
            "HTML block",
            "<details open><summary>x</summary>\n<script>alert(1)</script>\n</details>",
        ),
        case(
            "unclosed HTML comment",
            "before <!-- the rest is hidden\n@jupyter/security-team #3",
        ),
        case(
            "forged marker",
            "<!-- secintake:JUPSEC-2026-0001 -->\n<!-- secintake:JUPSEC-2026-0001 part 2/2 -->",
        ),
        case(
            "backtick fence breakout",
            "```\n@jupyter/security-team #4\n```\n![x](https://evil.example/f.png)",
        ),
        case(
            "tilde fence breakout",
            "~~~\n@jupyter/security-team GH-5\n~~~\n<img src=https://evil.example/t.gif>",
        ),
        case(
            "long backtick and tilde runs",
            &format!(
                "{}\n@a #6\n{}\n@b GH-6\n{}",
                "`".repeat(40),
                "~".repeat(45),
                "`".repeat(41)
            ),
        ),
        case(
            "indented fence close",
            "   ```\n@jupyter/security-team #8\n    ```",
        ),
        case(
            "bidi override",
            "user \u{202e}@jupyter/security-team\u{202c} #9 end",
        ),
        case("control characters", "a\u{0}b\u{7}c\u{1b}[31m @x #10"),
        case(
            "huge report",
            &format!(
                "{}\n@jupyter/security-team #11 tail",
                "line of a very long proof of concept @x #12 ```\n".repeat(4000)
            ),
        ),
    ];
    v.push(Case {
        subject: "@jupyter/security-team fixes #1 and GH-2 jupyter/notebook#3",
        ..case(
            "subject references",
            "The subject carries the references here.",
        )
    });
    v.push(Case {
        from: "Mallory <mallory|#13|GH-13|`x@example.test>",
        ..case(
            "reporter name in table",
            "Mallory reports a cross-site scripting flaw in a widget.",
        )
    });
    v.push(Case {
        attachment: Some((
            "x`|@team <img src=https:__evil.example_a.gif>.txt",
            "inline @jupyter/security-team #14\n</details>\n![i](https://evil.example/i.png)\n",
        )),
        ..case(
            "attachment name and content",
            "Proof of concept attached as a text file, please review.",
        )
    });
    v
}

fn mail(i: usize, c: &Case) -> String {
    let subject = if c.subject.is_empty() {
        format!("Sanitiser case {i:02}")
    } else {
        format!("Sanitiser case {i:02} {}", c.subject)
    };
    let head = format!(
        "From: {}\r\nTo: security@example.test\r\nSubject: {subject}\r\nMessage-ID: <case{i}@example.test>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n",
        c.from
    );
    match c.attachment {
        None => format!(
            "{head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
            c.text
        ),
        Some((name, content)) => format!(
            "{head}Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{content}\r\n--b--\r\n",
            c.text
        ),
    }
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    common::offline::write_config(
        dir,
        &common::offline::Offline {
            addresses: &["security@example.test"],
            from: "Security <security@example.test>",
            acknowledgement: "response_window = \"3d\"\ndisclosure_window = \"90d\"",
            ..Default::default()
        },
    )
}

/// What GitHub would render outside code, and what it would render as code.
#[derive(Default)]
struct Rendered {
    live: String,
    code: String,
    html: Vec<String>,
    images: usize,
    links: Vec<String>,
}

fn render(body: &str) -> Rendered {
    let mut r = Rendered::default();
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut in_code = 0;
    for ev in Parser::new_ext(body, opts) {
        match ev {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => {
                in_code -= 1;
                r.code.push('\n');
            }
            Event::Text(t) if in_code > 0 => r.code.push_str(&t),
            Event::Text(t) => {
                r.live.push_str(&t);
                r.live.push(' ');
            }
            Event::Code(t) => {
                r.code.push_str(&t);
                r.code.push('\n');
            }
            Event::Html(h) | Event::InlineHtml(h) => r.html.push(h.trim().to_string()),
            Event::Start(Tag::Image { .. }) => r.images += 1,
            Event::Start(Tag::Link { dest_url, .. }) => r.links.push(dest_url.to_string()),
            _ => {}
        }
    }
    r
}

/// `@x`, `#1`, `GH-1`, `owner/repo#1`, GitHub URLs: what GitHub links.
fn references(live: &str) -> Vec<String> {
    let chars: Vec<char> = live.chars().collect();
    let mut found = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        if (*c == '@' && next.is_alphanumeric()) || (*c == '#' && next.is_ascii_digit()) {
            found.push(chars[i..(i + 12).min(chars.len())].iter().collect());
        }
    }
    for pat in ["GH-", "github.com/", "evil.example"] {
        if live.contains(pat) {
            found.push(pat.to_string());
        }
    }
    found
}

fn allowed_html(h: &str) -> bool {
    (h.starts_with("<!-- secintake:JUPSEC-") && h.ends_with("-->") && !h.contains('\n'))
        || h == "</details>"
        || (h.starts_with("<details><summary>Attachment ")
            && h.ends_with(" bytes of text)</summary>"))
}

#[test]
fn hostile_reports_render_harmlessly() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let cases = cases();
    for (i, c) in cases.iter().enumerate() {
        std::fs::write(
            inbox
                .join("new")
                .join(format!("17640000{i:02}.case{i}.test")),
            mail(i, c),
        )
        .unwrap();
    }
    let config = write_config(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_secintake"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .env("SECINTAKE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Issue files by case number (from the title).
    let mut issues: BTreeMap<usize, String> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path().join("issues")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            let title = text.lines().nth(1).unwrap_or("");
            let n = title
                .split("Sanitiser case ")
                .nth(1)
                .and_then(|s| s.get(..2))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no case number in {title:?}"));
            issues.insert(n, text);
        }
    }
    assert_eq!(issues.len(), cases.len(), "one issue per case");

    println!("| case | attack (start) | what the issue shows (start) |");
    println!("|---|---|---|");
    let mut checked = 0;
    for (i, c) in cases.iter().enumerate() {
        let file = &issues[&i];
        let mut lines = file.lines();
        let marker = lines.next().unwrap();
        let title = lines.next().unwrap().to_string();
        // The directory tracker writes `marker`, `# title`, `Labels:`, body;
        // GitHub gets the marker and the body. Parts: separator + part marker.
        let rest: String = lines.skip(3).collect::<Vec<_>>().join("\n");
        let mut bodies: Vec<String> = rest
            .split("\n\n---\n\n<!-- secintake:")
            .enumerate()
            .map(|(k, b)| {
                if k == 0 {
                    format!("{marker}\n{b}")
                } else {
                    format!("<!-- secintake:{b}")
                }
            })
            .collect();
        let parts = bodies.len();
        let mut code = String::new();
        for (k, body) in bodies.iter_mut().enumerate() {
            let n = body.chars().count();
            assert!(n <= LIMIT, "{}: part {k} is {n} characters", c.name);
            let first = body.lines().next().unwrap_or("");
            assert!(first.starts_with("<!-- secintake:JUPSEC-"), "{}", c.name);
            // GFM splits table cells at every unescaped `|`, even inside code
            // spans (spec, "Tables"); pulldown-cmark does not, so count them.
            for row in body.lines().filter(|l| l.starts_with("| ")) {
                let cells = row.replace("\\|", "").matches('|').count();
                assert_eq!(cells, 3, "{}: table row split: {row:?}", c.name);
            }
            let r = render(body);
            let refs = references(&r.live);
            assert!(refs.is_empty(), "{}: live references {refs:?}", c.name);
            assert_eq!(r.images, 0, "{}: image rendered", c.name);
            for h in &r.html {
                assert!(allowed_html(h), "{}: reporter HTML rendered: {h:?}", c.name);
            }
            let markers = r.html.iter().filter(|h| h.contains("secintake:")).count();
            assert_eq!(markers, 1, "{}: marker count in part {k}", c.name);
            for l in &r.links {
                assert!(l.starts_with("file://"), "{}: link {l:?}", c.name);
            }
            code.push_str(&r.code);
        }
        // Complete: every line of the report (cleaned of controls) is in code.
        let cleaned: String = c
            .text
            .chars()
            .filter(|ch| *ch == '\n' || !ch.is_control())
            .filter(|ch| !matches!(ch, '\u{202a}'..='\u{202e}'))
            .collect();
        for line in cleaned.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                code.contains(line.trim()),
                "{}: report line missing from code: {line:?}",
                c.name
            );
        }
        if let Some((name, content)) = c.attachment {
            for line in content.lines() {
                assert!(code.contains(line), "{}: attachment line {line:?}", c.name);
            }
            assert!(code.contains(&name.replace('|', "\\|")) || code.contains(name));
        }
        assert!(
            !title.contains("@j") && !title.contains("#1") && !title.contains("GH-"),
            "{}: title {title:?}",
            c.name
        );
        // Where the attack lands: title, reporter row, attachment line, or
        // the fence opener and first line of the report.
        let first_body = bodies.first().map(String::as_str).unwrap_or("");
        let line_with = |needle: &str| {
            first_body
                .lines()
                .find(|l| l.contains(needle))
                .unwrap_or("")
                .to_string()
        };
        let shows: String = if !c.subject.is_empty() {
            title.clone()
        } else if c.from.contains("mallory") {
            line_with("| Reporter |")
        } else if c.attachment.is_some() {
            line_with("- 1. ")
        } else {
            first_body
                .split("### Report\n\n")
                .nth(1)
                .map(|s| s.lines().take(2).collect::<Vec<_>>().join("⏎"))
                .unwrap_or_default()
        }
        .chars()
        .take(90)
        .collect();
        let from = if c.from.contains("mallory") {
            c.from
        } else {
            ""
        };
        let attack: String = format!("{} {from} {}", c.subject, c.text)
            .trim()
            .chars()
            .take(50)
            .collect();
        println!(
            "| {} | `{}` | `{}`{} |",
            c.name,
            attack.replace('\n', "⏎").replace('`', "ˋ"),
            shows.replace('`', "ˋ"),
            if parts > 1 {
                format!(" ({parts} parts)")
            } else {
                String::new()
            }
        );
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    assert!(issues[&17].contains("part 2/"), "huge report was split");
}
