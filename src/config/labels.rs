//! `[tracker.github] label_rules`: subproject labels put on an issue when
//! one of their keywords occurs in the report's subject or text.
//!
//! The defaults cover every official subproject in Jupyter's governance
//! list of subprojects (`jupyter/governance`, `list_of_subprojects.md`),
//! plus Jupyter Book. Keywords are package and repository names and
//! multi-word names, never ordinary words: "notebook", "lab", "hub",
//! "server", "widgets", "book" or "kernel" alone would label nearly every
//! report ("a malicious notebook", "the label"), and a keyword must match
//! whole words ([`LabelRule::matches`]), so `lab` would not match "label"
//! anyway. An address's domain is not a mention: `security@ipython.org`,
//! which reporters quote, does not label a report "ipython".

/// `"label: keyword, keyword"` — the label goes on the issue when any keyword
/// occurs (case-insensitive, as a whole word) in the subject or report text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRule {
    pub label: String,
    pub keywords: Vec<String>,
}

/// The default rules (see the module doc), as written in
/// `config/secintake.example.toml`.
const DEFAULTS: &[&str] = &[
    "ipython: ipython",
    "ipykernel: ipykernel",
    "ipyparallel: ipyparallel",
    "traitlets: traitlets",
    "jupyterlab: jupyterlab, jupyter-lab, jupyter lab, jupyterlite, lumino",
    "notebook: jupyter/notebook, jupyter-notebook, nbclassic, notebook 7, notebook 6, classic notebook, notebook server",
    "jupyterhub: jupyterhub, jupyter-hub, zero-to-jupyterhub, z2jh, oauthenticator, kubespawner, dockerspawner, configurable-http-proxy",
    "binder: binderhub, repo2docker, mybinder, mybinder.org",
    "voila: voila, voila-dashboards, voila-gridstack, voilà dashboard, voilà dashboards",
    "jupyter_server: jupyter_server, jupyter-server, jupyter server",
    "enterprise_gateway: enterprise_gateway, enterprise-gateway, jupyter enterprise gateway",
    "kernel_gateway: kernel_gateway, kernel-gateway, jupyter kernel gateway",
    "ipywidgets: ipywidgets, jupyter-widgets, jupyter widgets, widgetsnbextension, jupyterlab_widgets",
    "xeus: xeus, xeus-python, xeus-cling, jupyter-xeus",
    "nbconvert: nbconvert",
    "nbformat: nbformat",
    "nbclient: nbclient",
    "jupyter_client: jupyter_client, jupyter-client",
    "jupyter_core: jupyter_core, jupyter-core",
    "jupyter_console: jupyter_console, jupyter-console",
    "qtconsole: qtconsole",
    "terminado: terminado",
    "docker-stacks: docker-stacks, jupyter docker stacks, jupyter/base-notebook, jupyter/minimal-notebook, jupyter/scipy-notebook, jupyter/datascience-notebook, quay.io/jupyter",
    "nbdime: nbdime",
    "nbgrader: nbgrader",
    "nbviewer: nbviewer",
    "jupyter-book: jupyter-book, jupyter book, jupyterbook, myst-nb, mystmd",
];

impl LabelRule {
    pub fn parse(text: &str) -> Option<LabelRule> {
        let (label, words) = text.split_once(':')?;
        let label = label.trim().to_string();
        let keywords: Vec<String> = words
            .split(',')
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        (!label.is_empty() && label.len() <= 50 && !keywords.is_empty())
            .then_some(LabelRule { label, keywords })
    }

    /// Project Jupyter's subprojects (see the module doc).
    pub fn defaults() -> Vec<LabelRule> {
        DEFAULTS
            .iter()
            .filter_map(|r| LabelRule::parse(r))
            .collect()
    }

    /// Whether a keyword occurs in `text` (lower case already).
    pub fn matches(&self, text: &str) -> bool {
        // Its own searcher: the kept one stays the configuration's.
        let rules = std::slice::from_ref(self);
        Searcher::build(rules).is_some_and(|s| !s.labels(rules, text).is_empty())
    }
}

/// The labels of the rules with a keyword in `text` (lower case already),
/// in rule order: one pass over the text for all keywords together.
pub fn matching(rules: &[LabelRule], text: &str) -> Vec<String> {
    searcher(rules).map_or_else(Vec::new, |s| s.labels(rules, text))
}

/// One automaton for every keyword of a rule set, and each keyword's rule.
struct Searcher {
    rules: Vec<LabelRule>,
    ac: aho_corasick::AhoCorasick,
    rule_of: Vec<usize>,
}

impl Searcher {
    fn build(rules: &[LabelRule]) -> Option<Searcher> {
        let (rule_of, keywords): (Vec<usize>, Vec<&str>) = rules
            .iter()
            .enumerate()
            .flat_map(|(r, rule)| rule.keywords.iter().map(move |k| (r, k.as_str())))
            .unzip();
        Some(Searcher {
            rules: rules.to_vec(),
            ac: aho_corasick::AhoCorasick::new(keywords).ok()?,
            rule_of,
        })
    }

    /// The labels of `rules` (those it was built for) with a whole-word
    /// keyword in `text`, in rule order.
    fn labels(&self, rules: &[LabelRule], text: &str) -> Vec<String> {
        let mut hit = vec![false; rules.len()];
        for m in self.ac.find_overlapping_iter(text) {
            let rule = self.rule_of.get(m.pattern().as_usize()).copied();
            if let Some(h) = rule.and_then(|r| hit.get_mut(r)) {
                if !*h && whole_word(text, m.start(), m.end()) {
                    *h = true;
                }
            }
        }
        rules
            .iter()
            .zip(hit)
            .filter(|(_, h)| *h)
            .map(|(r, _)| r.label.clone())
            .collect()
    }
}

/// The searcher for `rules`, built once and kept while the rules stay the
/// same (the configuration's rules change only on reload).
fn searcher(rules: &[LabelRule]) -> Option<std::sync::Arc<Searcher>> {
    use std::sync::{Arc, Mutex};
    static LAST: Mutex<Option<Arc<Searcher>>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = last.as_ref().filter(|s| s.rules == rules) {
        return Some(s.clone());
    }
    let s = Arc::new(Searcher::build(rules)?);
    *last = Some(s.clone());
    Some(s)
}

/// Whether `text[start..end]` is not inside a longer word nor the domain
/// of an address.
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    !before.is_some_and(|c| is_word(c) || c == '@') && !after.is_some_and(is_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str) -> Vec<String> {
        let text = text.to_lowercase();
        LabelRule::defaults()
            .into_iter()
            .filter(|r| r.matches(&text))
            .map(|r| r.label)
            .collect()
    }

    #[test]
    fn every_default_rule_parses() {
        assert_eq!(LabelRule::defaults().len(), DEFAULTS.len());
    }

    #[test]
    fn keywords_match_whole_words() {
        let contains_word = |text: &str, word: &str| {
            LabelRule::parse(&format!("l: {word}")).is_some_and(|r| r.matches(text))
        };
        assert!(contains_word("a jupyterhub bug", "jupyterhub"));
        assert!(contains_word("(jupyter_server)", "jupyter_server"));
        assert!(!contains_word("myjupyterhubx", "jupyterhub"));
        assert!(!contains_word("jupyter_server_proxy", "jupyter_server"));
        // An earlier occurrence inside a longer word does not hide a later
        // whole one, and the rules' order is kept.
        let rules = [
            LabelRule::parse("b: jupyter_server").unwrap(),
            LabelRule::parse("a: jupyterhub, z2jh").unwrap(),
        ];
        assert_eq!(
            matching(&rules, "jupyter_server_proxy and z2jh, then jupyter_server"),
            vec!["b".to_string(), "a".to_string()]
        );
    }

    #[test]
    fn each_subproject_is_recognised() {
        for (text, label) in [
            ("IPython 8.12 runs code from the magic", "ipython"),
            ("ipykernel leaks the connection file", "ipykernel"),
            ("a traitlets Unicode trait", "traitlets"),
            ("XSS in JupyterLab 4.1 markdown preview", "jupyterlab"),
            ("Notebook 7 renders SVG unsanitised", "notebook"),
            ("JupyterHub admin panel CSRF", "jupyterhub"),
            ("voila executes cells on render", "voila"),
            ("Voilà dashboards leak the kernel", "voila"),
            ("ipywidgets Output widget XSS", "ipywidgets"),
            ("nbconvert --to html keeps script tags", "nbconvert"),
            ("nbformat validation bypass", "nbformat"),
            ("jupyter_client session key reuse", "jupyter_client"),
            ("jupyter-server file API path traversal", "jupyter_server"),
            ("Jupyter Book builds execute untrusted code", "jupyter-book"),
            ("the binderhub build API", "binder"),
            ("a nbgrader autograder escape", "nbgrader"),
        ] {
            assert!(
                labels(text).contains(&label.to_string()),
                "{text}: {:?}",
                labels(text)
            );
        }
    }

    #[test]
    fn ordinary_prose_labels_nothing() {
        let prose = "Hello, I found a bug. When I open a malicious notebook, the label \
                     of the lab server shows my kernel token. Widgets and books are fine. \
                     Et voilà, the hub is down. I am writing to security@ipython.org as \
                     your page asks; see https://jupyter.org/security.";
        assert_eq!(labels(prose), Vec::<String>::new());
        // "lab" as a word is no keyword, and no keyword matches inside "label".
        assert!(labels("jupyter label").is_empty());
    }
}
