//! `R-NAME-MARKUP` and `R-NAME-IMPLAUSIBLE`: names that are not names.
//!
//! # `R-NAME-MARKUP`
//! Voter-supplied text is hostile input (DOMAIN.md: a name can be `<script>` or
//! `=HYPERLINK(...)`). The rule fires on any name part (given, middle, family, suffix)
//! holding:
//! - a control character (Unicode category Cc: tabs, line breaks, escape, NUL ...);
//! - `<` or `>` (HTML or XML markup);
//! - a bidirectional override or isolate, U+202A-U+202E and U+2066-U+2069, or the marks
//!   U+200E, U+200F, U+061C: they reorder how a name displays, so two different names can
//!   look alike (the "Trojan Source" technique, CVE-2021-42574);
//! - an invisible zero-width space U+200B or byte-order mark U+FEFF (look-alike names);
//! - a leading `=`, `+`, `-` or `@`: a spreadsheet formula (OWASP "CSV injection" lists
//!   these four, and tab and carriage return, which are control characters above).
//!
//! A leading hyphen is flagged too. Hyphens are common *inside* names (DOMAIN.md: hyphens,
//! apostrophes and spaces in ~8% of one state's names; `ANNE-MARIE` passes), but a name that
//! *starts* with one is either a formula (`-2+3+cmd|...` runs in a spreadsheet that opens
//! the export) or a damaged double-barrelled name (`-SMITH`): both mean the record must be
//! corrected. rollaudit's own CSV writer neutralises all four prefixes, which protects its
//! reports but not the register or the other systems that read it.
//!
//! Zero-width joiners (U+200C, U+200D) are legitimate in Indic and Persian scripts and pass.
//! The finding names the field and the kind of character (with its code point), never the
//! text itself, so that the report cannot carry the payload. Severity `medium`: the record
//! must be corrected, and the text may be an attack on the systems downstream.
//!
//! # `R-NAME-IMPLAUSIBLE`
//! A given, middle or family name that is a placeholder or test value: a whole word from the
//! placeholder list ([`default_placeholder_words`]: TEST, UNKNOWN, NONE, NULL, DUMMY, SAMPLE,
//! ASDF, QWERTY, FNU and LNU (US federal "first/last name unknown"), DECEASED, DELETE, VOID,
//! NOBODY, NAME); a word of one letter repeated three or more times (XXX, AAAA; Roman
//! numeral III passes); or a digit (OCR errors turn O into 0, DOMAIN.md-style garbage).
//! Severity `medium` for a placeholder word or repeated letter (a test or unknown-person
//! record on the roll can receive a ballot), `low` for digits alone (usually a data-entry or
//! OCR error in a real person's name). The finding names the field and the pattern matched
//! (`placeholder TEST`: the word from the list; `one letter repeated`; `contains digits`),
//! never the voter's text: the voter id identifies the record, and a 10 MB name stays out of
//! the report. Words that are also real names stay off the list:
//! `FAKE` is a Frisian given name and a surname, `NA` and `LI` are common surnames.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::findings::{Evidence, Finding, Severity};
use crate::model::Field;

use super::{Context, Output};
use crate::snapshot::{judge_texts, Judged};

pub(crate) const MARKUP: &str = "R-NAME-MARKUP";
pub(crate) const IMPLAUSIBLE: &str = "R-NAME-IMPLAUSIBLE";

pub(crate) fn default_placeholder_words() -> Vec<String> {
    [
        "TEST", "UNKNOWN", "NONE", "NULL", "DUMMY", "SAMPLE", "ASDF", "QWERTY", "FNU", "LNU",
        "DECEASED", "DELETE", "VOID", "NOBODY", "NAME",
    ]
    .map(String::from)
    .to_vec()
}

const MARKUP_FIELDS: [Field; 4] = [
    Field::GivenName,
    Field::MiddleName,
    Field::FamilyName,
    Field::NameSuffix,
];

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    let needs = [Field::GivenName, Field::FamilyName];
    out.run(ctx.check(MARKUP, &needs));
    out.run(ctx.check(IMPLAUSIBLE, &needs));
    if !needs.iter().all(|&f| ctx.has(f)) {
        return;
    }
    let words = &ctx.config.placeholder_name_words;
    // What is wrong with a name depends on the name alone: judged once per distinct name.
    let judged: Vec<(Field, Judged<Verdict>)> = MARKUP_FIELDS
        .iter()
        .filter_map(|&f| {
            let column = ctx.snap.column(f)?;
            let judge = |name: &str| {
                let markup = markup_in(name);
                let implausible = (f != Field::NameSuffix)
                    .then(|| implausibility(name, words))
                    .flatten();
                (markup.is_some() || implausible.is_some()).then_some(Verdict {
                    markup,
                    implausible,
                })
            };
            Some((f, judge_texts(column, ctx.rows(), judge)))
        })
        .collect();
    let found: Vec<Finding> = (0..ctx.rows())
        .into_par_iter()
        .flat_map_iter(|row| {
            let mut markup = Vec::new();
            let mut implausible = Vec::new();
            let mut serious = false;
            for (field, judged) in &judged {
                let Some(verdict) = judged.at(row) else {
                    continue;
                };
                if let Some(what) = &verdict.markup {
                    markup.push((field.name(), what.clone()));
                }
                if let Some((what, placeholder)) = &verdict.implausible {
                    serious |= placeholder;
                    implausible.push((field.name(), what.clone()));
                }
            }
            let markup = (!markup.is_empty())
                .then(|| ctx.record(MARKUP, Severity::Medium, row, evidence(markup)));
            let implausible = (!implausible.is_empty()).then(|| {
                let severity = if serious {
                    Severity::Medium
                } else {
                    Severity::Low
                };
                ctx.record(IMPLAUSIBLE, severity, row, evidence(implausible))
            });
            markup.into_iter().chain(implausible)
        })
        .collect();
    for finding in found {
        out.push(finding);
    }
}

/// What is wrong with one name: hostile text, an implausible pattern (and whether it is a
/// placeholder), or both.
struct Verdict {
    markup: Option<String>,
    implausible: Option<(String, bool)>,
}

fn evidence(problems: Vec<(&'static str, String)>) -> Evidence {
    Evidence {
        observed: problems.len() as f64,
        baseline: "name fields".into(),
        facts: problems,
        ..Evidence::default()
    }
}

/// What makes `name` hostile text, if anything (the first problem found).
pub(crate) fn markup_in(name: &str) -> Option<String> {
    if let Some(c @ ('=' | '+' | '-' | '@')) = name.chars().next() {
        return Some(format!("formula prefix {c:?}"));
    }
    name.chars().find_map(|c| {
        let kind = match c {
            '<' | '>' => "markup character",
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "bidirectional override",
            '\u{200E}' | '\u{200F}' | '\u{061C}' => "bidirectional mark",
            '\u{200B}' | '\u{FEFF}' => "invisible character",
            c if c.is_control() => "control character",
            _ => return None,
        };
        Some(format!("{kind} U+{:04X}", c as u32))
    })
}

/// Why `name` is implausible (the pattern, never the text), and whether that is a placeholder
/// (not just a digit).
pub(crate) fn implausibility(name: &str, words: &[String]) -> Option<(String, bool)> {
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        // Names are mostly upper-case ASCII already: no copy for them.
        let upper: Cow<str> = if word.bytes().all(|b| b.is_ascii_uppercase()) {
            Cow::Borrowed(word)
        } else {
            Cow::Owned(word.to_uppercase())
        };
        if words.iter().any(|w| *w == upper) {
            // A word of the list (equal to it), not the rest of the voter's text.
            return Some((format!("placeholder {upper}"), true));
        }
        let mut chars = upper.chars();
        let first = chars.next()?;
        if upper.chars().count() >= 3
            && first.is_alphabetic()
            && first != 'I'
            && chars.all(|c| c == first)
        {
            return Some(("one letter repeated".to_string(), true));
        }
    }
    name.chars()
        .any(|c| c.is_numeric())
        .then(|| ("contains digits".to_string(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_recognised_without_quoting_it() {
        assert_eq!(markup_in("O'BRIEN"), None);
        assert_eq!(markup_in("JOSÉ-MARÍA"), None);
        assert!(markup_in("<script>alert(1)</script>")
            .unwrap()
            .contains("markup"));
        assert!(markup_in("=HYPERLINK(\"x\")").unwrap().contains("formula"));
        for prefix in ["+CMD", "-2+3+cmd", "@SUM(A1)"] {
            assert!(markup_in(prefix).unwrap().contains("formula"), "{prefix}");
        }
        assert_eq!(markup_in("ANNE-MARIE"), None);
        assert!(markup_in("ANNA\u{202E}").unwrap().contains("U+202E"));
        assert!(markup_in("ANNA\u{7}").unwrap().contains("control"));
        assert_eq!(markup_in("می\u{200C}خواهم"), None);
    }

    #[test]
    fn placeholders_and_digits_are_implausible_but_real_names_are_not() {
        let w = default_placeholder_words();
        assert_eq!(
            implausibility("Test", &w),
            Some(("placeholder TEST".to_string(), true))
        );
        let long = "A".repeat(1_000_000);
        assert_eq!(
            implausibility(&long, &w),
            Some(("one letter repeated".to_string(), true))
        );
        assert_eq!(
            implausibility("J0HN", &w),
            Some(("contains digits".to_string(), false))
        );
        assert!(implausibility("Unknown", &w).unwrap().1);
        assert!(implausibility("XXX", &w).unwrap().1);
        assert!(!implausibility("J0HN", &w).unwrap().1);
        for real in [
            "TESTA",
            "III",
            "NA",
            "LI",
            "NGUYEN",
            "O'NEILL",
            "ANNE-MARIE",
        ] {
            assert_eq!(implausibility(real, &w), None, "{real}");
        }
    }
}
