//! A TOML table reader that records a problem per key instead of stopping at
//! the first one, so `secintake check` can list every mistake at once. Values
//! are never echoed in problems: a misplaced password must not reach a log.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use super::duration::parse_duration;

/// One thing wrong with the configuration, named by its dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
}

/// A section of the configuration (`[source.imap]`), tracking which keys were read.
pub struct Section {
    pub name: String,
    table: toml::Table,
    used: BTreeSet<String>,
    present: bool,
}

impl Section {
    pub fn root(table: toml::Table) -> Self {
        Section {
            name: String::new(),
            table,
            used: BTreeSet::new(),
            present: true,
        }
    }

    pub fn is_present(&self) -> bool {
        self.present
    }

    /// Whether the section is there; when it is not, records that it is
    /// required.
    pub fn required(&self, problems: &mut Problems) -> bool {
        if !self.present {
            problems.add(self.name.clone(), "section is required");
        }
        self.present
    }

    pub fn key(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.name)
        }
    }

    fn take(&mut self, key: &str) -> Option<toml::Value> {
        self.used.insert(key.to_string());
        self.table.get(key).cloned()
    }

    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// A sub-table; missing is an empty, absent section.
    pub fn section(&mut self, key: &str, problems: &mut Problems) -> Section {
        let name = self.key(key);
        match self.take(key) {
            Some(toml::Value::Table(table)) => Section {
                name,
                table,
                used: BTreeSet::new(),
                present: true,
            },
            Some(_) => {
                problems.add(&name, "must be a table ([section])");
                Section::absent(name)
            }
            None => Section::absent(name),
        }
    }

    /// An array of tables (`[[advisories.source]]`): one section per
    /// entry, named `key[i]` in problems; missing is none.
    pub fn tables(&mut self, key: &str, problems: &mut Problems) -> Vec<Section> {
        let name = self.key(key);
        match self.take(key) {
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    let name = format!("{name}[{i}]");
                    match item {
                        toml::Value::Table(table) => out.push(Section {
                            name,
                            table,
                            used: BTreeSet::new(),
                            present: true,
                        }),
                        _ => problems.add(name, "must be a table ([[section]])"),
                    }
                }
                out
            }
            Some(_) => {
                problems.add(&name, "must be an array of tables ([[section]])");
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn absent(name: String) -> Section {
        Section {
            name,
            table: toml::Table::new(),
            used: BTreeSet::new(),
            present: false,
        }
    }

    pub fn opt_string(&mut self, key: &str, problems: &mut Problems) -> Option<String> {
        match self.take(key) {
            Some(toml::Value::String(s)) => Some(s),
            Some(_) => {
                problems.add(self.key(key), "must be a string");
                None
            }
            None => None,
        }
    }

    pub fn string(&mut self, key: &str, problems: &mut Problems) -> Option<String> {
        let value = self.opt_string(key, problems);
        if value.is_none() && !self.has(key) {
            problems.add(self.key(key), "is required");
        }
        value
    }

    pub fn string_or(&mut self, key: &str, default: &str, problems: &mut Problems) -> String {
        self.opt_string(key, problems)
            .unwrap_or_else(|| default.to_string())
    }

    pub fn string_list(&mut self, key: &str, problems: &mut Problems) -> Option<Vec<String>> {
        match self.take(key) {
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => out.push(s),
                        _ => {
                            problems.add(self.key(key), "must be a list of strings");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                problems.add(self.key(key), "must be a list of strings");
                None
            }
            None => None,
        }
    }

    pub fn bool_or(&mut self, key: &str, default: bool, problems: &mut Problems) -> bool {
        match self.take(key) {
            Some(toml::Value::Boolean(b)) => b,
            Some(_) => {
                problems.add(self.key(key), "must be true or false");
                default
            }
            None => default,
        }
    }

    pub fn opt_integer(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        problems: &mut Problems,
    ) -> Option<i64> {
        match self.take(key) {
            Some(toml::Value::Integer(n)) if range.contains(&n) => Some(n),
            Some(_) => {
                problems.add(
                    self.key(key),
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
            None => None,
        }
    }

    /// A whole number in `range`, converted to `T`; `default` when absent
    /// (an out-of-range value is a problem and also yields `default`).
    pub fn number_or<T: TryFrom<i64> + Copy>(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: T,
        problems: &mut Problems,
    ) -> T {
        self.opt_integer(key, range, problems)
            .and_then(|v| T::try_from(v).ok())
            .unwrap_or(default)
    }

    pub fn port(&mut self, key: &str, default: u16, problems: &mut Problems) -> u16 {
        self.number_or(key, 1..=65535, default, problems)
    }

    pub fn duration_or(
        &mut self,
        key: &str,
        default: Duration,
        problems: &mut Problems,
    ) -> Duration {
        match self.opt_string(key, problems) {
            Some(text) => match parse_duration(&text) {
                Ok(d) => d,
                Err(why) => {
                    problems.add(self.key(key), format!("duration {why}"));
                    default
                }
            },
            None => default,
        }
    }

    /// Reports every key that was never read: a typo must not be silently ignored.
    pub fn finish(self, problems: &mut Problems) {
        for key in self.table.keys() {
            if !self.used.contains(key) {
                problems.add(self.key(key), "is not a known setting");
            }
        }
    }
}

#[cfg(test)]
mod tests;
