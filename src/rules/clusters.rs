//! `R-ADDRESS-CROWDED` and `R-CONTACT-SHARED`: more registrations in one place than any
//! household explains.
//!
//! Bulk registrations at one residential address and many registrations sharing one phone or
//! email are classic signs of fabricated records (DOMAIN.md). The trap is that families share
//! addresses and phones, and institutions legitimately hold hundreds of voters (EagleAI
//! wrongly flagged 159 students at one campus address). So both rules judge a cluster against
//! the register's *own* distribution of cluster sizes, not a fixed number.
//!
//! # `R-ADDRESS-CROWDED`
//! Counts current registrations (active, pending, or without status; inactive voters have
//! mostly moved) per address: normalised address line (or house number and street), unit,
//! locality and postcode. Threshold `T = max(min_count, ceil(factor × q))` where `q` is the
//! 99.9th percentile of those counts over all non-allowlisted addresses (lower nearest rank,
//! so a few outliers cannot become their own baseline), `factor` = 2 and `min_count` = 10
//! ([`CrowdingConfig`](super::CrowdingConfig)). Why: about 1% of US households have seven or
//! more members, children included (US Census Bureau, Current Population Survey, America's
//! Families and Living Arrangements, table HH-4), so ten voters at one address is beyond
//! nearly every household; the quantile raises the threshold where households are large
//! (joint families on Indian rolls), and twice the 99.9th percentile is beyond all but
//! one in a thousand of this register's own addresses by a wide margin. Households of 2 to 6
//! never reach it.
//!
//! Severity:
//! - `info` when the address is on the [allowlist](super::allowlist) (institutions);
//! - `high` when, in addition, at least `T` of its registrations, and at least half of them
//!   (`burst_share`), are dated within 30 days of each other (`burst_days`): the address went
//!   from household to crowd within a month, the signature of bulk registration.
//!   Institutions fill over years and across intakes: a 240-bed dormitory whose residents
//!   registered over four years receives about 5 registrations a month and, by chance, a
//!   dozen in its busiest month, so the count alone would not separate them;
//! - `medium` otherwise: a crowded address that is not known to be an institution must be
//!   checked (and, if it is one, added to the allowlist).
//!
//! # `R-CONTACT-SHARED`
//! Counts current registrations per phone (digits only) and per email (lower case). The
//! threshold is computed as above, per channel, with `min_count` = 8 ([`ContactConfig`]
//! (super::ContactConfig)): a household landline or a couple's shared email covers a
//! household, rarely more. Severity:
//! - `high` when the registrations sharing it live at `T` or more distinct addresses: no
//!   household spans that many homes;
//! - `info` when they all live at allowlisted addresses (a care home's switchboard);
//! - `low` for a placeholder value (fewer than 7 digits or one repeated digit; an email
//!   without `@` or with a local part such as `none`, `noemail`, `na`, `unknown`, `test`):
//!   a data-entry convention, reported so that the placeholder is known;
//! - `medium` otherwise (many registrations at one or a few addresses sharing a contact).

use std::collections::HashMap;

use crate::dates::IsoDate;
use crate::findings::{Evidence, RuleRun, RuleStatus, Scope, Severity};
use crate::model::Field;
use crate::snapshot::FieldColumn;

use super::columns::{push_phone_digits, Addresses, Groups, Hashed, KeyOf};
use super::{side_by_side, Context, Output, RuleCheck};
use crate::stats::quantile;

pub(crate) const ADDRESS: &str = "R-ADDRESS-CROWDED";
pub(crate) const CONTACT: &str = "R-CONTACT-SHARED";

/// Email local parts that mean "no email".
const PLACEHOLDER_EMAILS: [&str; 9] = [
    "none", "noemail", "no", "na", "null", "unknown", "test", "noreply", "nomail",
];

pub(crate) fn check(ctx: &Context<'_>, out: &mut Output) {
    let addresses = Addresses::of(ctx.snap);
    match &addresses {
        Some(_) => out.run(RuleRun::check(ADDRESS, |_| true, &[])),
        None => out.run(RuleRun {
            rule: ADDRESS,
            status: RuleStatus::Skipped {
                missing: vec![Field::AddressLine, Field::Street],
            },
        }),
    }
    if ctx.has(Field::Phone) || ctx.has(Field::Email) {
        out.run(RuleRun::check(CONTACT, |_| true, &[]));
    } else {
        out.run(RuleRun {
            rule: CONTACT,
            status: RuleStatus::Skipped {
                missing: vec![Field::Phone, Field::Email],
            },
        });
    }
    // Crowded addresses, shared phones and shared emails are three independent groupings,
    // each with a pass on one thread: they run side by side.
    let addresses = addresses.as_ref();
    let crowded = |ctx: &Context<'_>, out: &mut Output| {
        if let Some(addresses) = addresses {
            crowded(ctx, addresses, out);
        }
    };
    let phone = |ctx: &Context<'_>, out: &mut Output| {
        contact(ctx, Field::Phone, Scope::Phone, addresses, out)
    };
    let email = |ctx: &Context<'_>, out: &mut Output| {
        contact(ctx, Field::Email, Scope::Email, addresses, out)
    };
    let parts: [&RuleCheck; 3] = [&crowded, &phone, &email];
    side_by_side(ctx, &parts, out);
}

fn contact(
    ctx: &Context<'_>,
    field: Field,
    scope: Scope,
    addresses: Option<&Addresses<'_>>,
    out: &mut Output,
) {
    if let Some(values) = ctx.snap.column(field) {
        shared(ctx, values, field, scope, addresses, out);
    }
}

/// The parts of an address key: line, unit, locality, postcode.
fn parts(key: &str) -> [&str; 4] {
    let mut it = key.split('|');
    let mut next = || it.next().unwrap_or("");
    [next(), next(), next(), next()]
}

fn allowlisted<'c>(ctx: &'c Context<'_>, key: &str) -> Option<&'c super::AllowlistEntry> {
    let [line, unit, locality, postcode] = parts(key);
    let list = &ctx.config.allowlist;
    if list.entries.is_empty() {
        return None;
    }
    list.find(line, locality, postcode).or_else(|| {
        (!unit.is_empty())
            .then(|| list.find(&format!("{line} {unit}"), locality, postcode))
            .flatten()
    })
}

/// An address key as people read it: `12 MAIN ST APT 4, SPRINGFIELD 10435`.
fn display(key: &str) -> String {
    let [line, unit, locality, postcode] = parts(key);
    let mut s = line.to_string();
    if !unit.is_empty() && !line.ends_with(unit) {
        s = format!("{s} {unit}");
    }
    let place = format!("{locality} {postcode}");
    if !place.trim().is_empty() {
        s = format!("{s}, {}", place.trim());
    }
    s
}

/// The current rows' hashes of `key`, flagged where `flag` marks the key.
fn hashed(ctx: &Context<'_>, key: &KeyOf<'_>, flag: impl Fn(&str) -> bool + Sync) -> Hashed {
    Hashed::new(ctx.rows(), key, |row| ctx.standing[row].current(), flag)
}

/// A grouping's threshold `t = max(min_count, ceil(factor × q))`, from the register's own
/// group sizes: `q`, their quantile, over `groups` unflagged groups.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Threshold {
    pub t: usize,
    pub q: usize,
    pub groups: usize,
}

impl Threshold {
    fn of(groups: &Groups, q: f64, factor: f64, min_count: usize) -> Threshold {
        let mut sizes = groups.unflagged_sizes();
        let quantile = quantile(&mut sizes, q).unwrap_or(1);
        let t = ((factor * quantile as f64).ceil() as usize).max(min_count);
        Threshold {
            t,
            q: quantile,
            groups: sizes.len(),
        }
    }
}

/// The crowded-address grouping's hashes: each current row's address, flagged when it is
/// allowlisted.
fn address_hashed(ctx: &Context<'_>, addresses: &Addresses<'_>) -> Hashed {
    let listed = !ctx.config.allowlist.entries.is_empty();
    let key = |row: usize, buf: &mut String| addresses.key(row, buf);
    hashed(ctx, &key, |k| listed && allowlisted(ctx, k).is_some())
}

/// A contact's key: the value of `values` at a row as compared ([`normalise`]).
fn contact_key<'v>(
    values: FieldColumn<'v>,
    field: Field,
) -> impl Fn(usize, &mut String) -> bool + Sync + 'v {
    move |row: usize, buf: &mut String| {
        values.str(row).is_some_and(|v| {
            normalise(field, v, buf);
            true
        })
    }
}

/// A shared-contact grouping's hashes: each current row's `field`, flagged when it is a
/// placeholder.
fn contact_hashed(ctx: &Context<'_>, values: FieldColumn<'_>, field: Field) -> Hashed {
    hashed(ctx, &contact_key(values, field), |v| placeholder(field, v))
}

/// What a window adds to the three groupings of a register read a window at a time
/// (`super::windows`): the hashes of its addresses, phones and emails, `None` for a field the
/// register lacks.
pub(crate) fn window_hashes(ctx: &Context<'_>) -> [Option<Hashed>; 3] {
    let column = |f| ctx.snap.column(f);
    [
        Addresses::of(ctx.snap).map(|a| address_hashed(ctx, &a)),
        column(Field::Phone).map(|v| contact_hashed(ctx, v, Field::Phone)),
        column(Field::Email).map(|v| contact_hashed(ctx, v, Field::Email)),
    ]
}

/// The thresholds of the three groupings of a whole register from its hashes
/// ([`window_hashes`]), each marking in `marks` the rows of the groups that reach it: the rows
/// the rules report on.
pub(crate) fn thresholds(
    config: &super::ScanConfig,
    hashes: [Option<Hashed>; 3],
    marks: &mut [bool],
) -> [Option<Threshold>; 3] {
    let (a, c) = (&config.crowding, &config.contact);
    let limits = [
        (a.quantile, a.factor, a.min_count),
        (c.quantile, c.factor, c.min_count),
        (c.quantile, c.factor, c.min_count),
    ];
    let mut out = [None; 3];
    for ((hashed, (q, factor, min_count)), slot) in hashes.into_iter().zip(limits).zip(&mut out) {
        if let Some(hashed) = hashed {
            let groups = Groups::of(hashed);
            let threshold = Threshold::of(&groups, q, factor, min_count);
            groups.mark_at_least(threshold.t, marks);
            *slot = Some(threshold);
        }
    }
    out
}

fn crowded(ctx: &Context<'_>, addresses: &Addresses<'_>, out: &mut Output) {
    let cfg = &ctx.config.crowding;
    let key = |row: usize, buf: &mut String| addresses.key(row, buf);
    let groups = Groups::of(address_hashed(ctx, addresses));
    let threshold = match ctx.whole {
        Some(whole) => whole
            .address
            .expect("a register with addresses has their threshold"),
        None => Threshold::of(&groups, cfg.quantile, cfg.factor, cfg.min_count),
    };
    let Threshold {
        t,
        q,
        groups: n_addresses,
    } = threshold;
    out.parameter("address_quantile", format!("{} -> {q}", cfg.quantile));
    out.parameter("address_threshold", t);
    // Read for the rows of the crowded addresses only.
    let registered = ctx.snap.column(Field::RegistrationDate);
    let precincts = ctx.snap.column(Field::Precinct);
    for (key, rows) in groups.at_least(t, &key) {
        let (key, rows) = (key.as_str(), &rows[..]);
        // The address is the finding's scope value (hashed by `--redact`); it is not copied
        // into the facts, where `locality` and `postcode` used to slip past the redaction.
        let mut facts = vec![("threshold", t.to_string())];
        if let Some(p) = precincts.and_then(|p| most_common(rows, p)) {
            facts.push(("precinct", p.to_string()));
        }
        let burst = registered.map(|r| burst(rows, r, cfg.burst_days));
        if let Some((n, first)) = burst {
            facts.push((
                "burst",
                format!("{n} registered within {} days", cfg.burst_days),
            ));
            facts.push(("burst_start", IsoDate(first).to_string()));
        }
        let entry = allowlisted(ctx, key);
        let severity = match (entry, burst) {
            (Some(e), _) => {
                facts.push(("allowlisted", allowlist_fact(ctx, e)));
                Severity::Info
            }
            (None, Some((n, _))) if n >= t && n as f64 >= cfg.burst_share * rows.len() as f64 => {
                Severity::High
            }
            _ => Severity::Medium,
        };
        out.push(ctx.group(
            ADDRESS,
            severity,
            Scope::Address,
            display(key),
            rows,
            Evidence {
                observed: rows.len() as f64,
                expected: Some(q as f64),
                effect_size: Some(rows.len() as f64 / q.max(1) as f64),
                baseline: format!(
                    "current registrations per address: {}th percentile {q} over {n_addresses} \
                     addresses (allowlist excluded); threshold max({}, {} x {q}) = {t}",
                    cfg.quantile * 100.0,
                    cfg.min_count,
                    cfg.factor
                ),
                facts,
                ..Evidence::default()
            },
        ));
    }
}

fn allowlist_fact(ctx: &Context<'_>, e: &super::AllowlistEntry) -> String {
    format!(
        "{} line {}{}",
        ctx.config.allowlist.origin,
        e.line,
        e.kind
            .as_ref()
            .map(|k| format!(" ({k})"))
            .unwrap_or_default()
    )
}

/// The largest number of `rows` registered within `window` days, and the first day of that
/// window.
fn burst(rows: &[u32], registered: FieldColumn<'_>, window: i32) -> (usize, i32) {
    let mut d: Vec<i32> = rows
        .iter()
        .filter_map(|&r| registered.day(r as usize))
        .collect();
    d.sort_unstable();
    let mut best = (0, d.first().copied().unwrap_or(0));
    let mut lo = 0;
    for hi in 0..d.len() {
        while d[hi] - d[lo] >= window {
            lo += 1;
        }
        if hi + 1 - lo > best.0 {
            best = (hi + 1 - lo, d[lo]);
        }
    }
    best
}

fn most_common<'a>(rows: &[u32], values: FieldColumn<'a>) -> Option<&'a str> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for &r in rows {
        if let Some(v) = values.str(r as usize) {
            *counts.entry(v).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(v, _)| v)
}

/// Writes `value` as compared into the empty `key`: a phone's digits, an email trimmed and in
/// lower case.
fn normalise(field: Field, value: &str, key: &mut String) {
    match field {
        Field::Phone => push_phone_digits(value, key),
        _ => {
            let value = value.trim();
            if value.is_ascii() {
                key.push_str(value);
                key.make_ascii_lowercase();
            } else {
                key.push_str(&value.to_lowercase());
            }
        }
    }
}

fn placeholder(field: Field, value: &str) -> bool {
    match field {
        Field::Phone => value.len() < 7 || value.chars().all(|c| value.starts_with(c)),
        _ => match value.split_once('@') {
            None => true,
            Some((local, _)) => PLACEHOLDER_EMAILS.contains(&local),
        },
    }
}

fn shared(
    ctx: &Context<'_>,
    values: FieldColumn<'_>,
    field: Field,
    scope: Scope,
    addresses: Option<&Addresses<'_>>,
    out: &mut Output,
) {
    let cfg = &ctx.config.contact;
    let key = contact_key(values, field);
    let groups = Groups::of(contact_hashed(ctx, values, field));
    let whole = ctx.whole.map(|w| match field {
        Field::Phone => w.phone,
        _ => w.email,
    });
    let Threshold {
        t,
        q,
        groups: n_values,
    } = match whole {
        Some(threshold) => threshold.expect("a register with the field has its threshold"),
        None => Threshold::of(&groups, cfg.quantile, cfg.factor, cfg.min_count),
    };
    let name = field.name();
    out.parameter(
        if field == Field::Phone {
            "phone_threshold"
        } else {
            "email_threshold"
        },
        t,
    );
    for (value, rows) in groups.at_least(t, &key) {
        let (value, rows) = (value.as_str(), &rows[..]);
        let homes: Vec<Option<String>> = match addresses {
            Some(a) => rows.iter().map(|&r| a.key_of(r as usize)).collect(),
            None => Vec::new(),
        };
        let all_allowlisted = addresses.is_some()
            && homes
                .iter()
                .all(|k| k.as_deref().is_some_and(|k| allowlisted(ctx, k).is_some()));
        let mut homes: Vec<String> = homes.into_iter().flatten().collect();
        homes.sort_unstable();
        homes.dedup();
        let is_placeholder = placeholder(field, value);
        let severity = if is_placeholder {
            Severity::Low
        } else if all_allowlisted {
            Severity::Info
        } else if homes.len() >= t {
            Severity::High
        } else {
            Severity::Medium
        };
        let mut facts = vec![
            ("distinct_addresses", homes.len().to_string()),
            ("threshold", t.to_string()),
        ];
        if is_placeholder {
            facts.push(("placeholder", "true".to_string()));
        }
        if all_allowlisted {
            facts.push(("allowlisted", "every address is allowlisted".to_string()));
        }
        out.push(ctx.group(
            CONTACT,
            severity,
            scope,
            value.to_string(),
            rows,
            Evidence {
                observed: rows.len() as f64,
                expected: Some(q as f64),
                effect_size: Some(rows.len() as f64 / q.max(1) as f64),
                baseline: format!(
                    "current registrations per {name}: {}th percentile {q} over {n_values} \
                     values; threshold max({}, {} x {q}) = {t}; high from {t} distinct addresses",
                    cfg.quantile * 100.0,
                    cfg.min_count,
                    cfg.factor
                ),
                facts,
                ..Evidence::default()
            },
        ));
    }
}
