//! `[dedupe]`: how related reports are recognised (see [`crate::classify::similarity`]).

use super::reader::{Problems, Section};

#[derive(Debug, Clone)]
pub struct DedupeSettings {
    /// Estimated Jaccard similarity of word 3-shingles, in percent, from
    /// which two report texts count as near-identical.
    pub similar_text_percent: u8,
    /// Texts with fewer words are not compared by text (identifiers still are).
    pub min_words: usize,
    /// Link reports that share a CVE/GHSA ID, package or URL.
    pub link_identifiers: bool,
    /// Identifiers never linked on (e.g. our policy URL), as written in reports.
    pub ignore_identifiers: Vec<String>,
}

impl Default for DedupeSettings {
    fn default() -> Self {
        DedupeSettings {
            similar_text_percent: 60,
            min_words: 20,
            link_identifiers: true,
            ignore_identifiers: Vec::new(),
        }
    }
}

impl DedupeSettings {
    pub fn similar_text(&self) -> f64 {
        f64::from(self.similar_text_percent) / 100.0
    }

    pub(super) fn read(mut s: Section, p: &mut Problems) -> DedupeSettings {
        let d = DedupeSettings::default();
        let settings = DedupeSettings {
            similar_text_percent: s.number_or(
                "similar_text_percent",
                1..=100,
                d.similar_text_percent,
                p,
            ),
            min_words: s.number_or("min_words", 3..=100_000, d.min_words, p),
            link_identifiers: s.bool_or("link_identifiers", d.link_identifiers, p),
            ignore_identifiers: s.string_list("ignore_identifiers", p).unwrap_or_default(),
        };
        s.finish(p);
        settings
    }
}
