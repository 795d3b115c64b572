//! Fuzzy duplicates: second registrations of existing voters under new ids, with the
//! corruptions of [`super::corrupt`], some at the same address and some after a move.
//!
//! Each duplicate differs from its original in exactly the ways its truth entry lists, so an
//! evaluator can score a deduplicator per corruption class (a nickname is harder than a
//! dropped national id).

use super::anomalies::{Planted, Planter};
use super::corrupt;
use super::kinds::AnomalyKind;
use super::population::{
    draw_address, Voter, ACTIVE, F_INSTITUTION, F_NATIONAL_ID, F_YEAR_ONLY, INACTIVE, NO_OVERRIDE,
    R_NONE,
};
use super::rng::{Rng, Stream};
use super::time::{office_time, to_seconds, working_day_in};
use super::truth::{voter_id, Duplicate};
use crate::dates::IsoDate;
use crate::model::Field;

/// Share of duplicates registered at the original's address (a re-registration by mistake);
/// the rest registered after a move (the classic stale-record duplicate).
const SAME_ADDRESS_SHARE: f64 = 0.6;
/// Share of duplicates without the original's national id (a duplicate that carries the same
/// id is trivial to find; most real duplicates lack it).
const MISSING_NATIONAL_ID_SHARE: f64 = 0.8;

impl Planter<'_> {
    /// Plants `count` duplicates; returns the event (if any) and the pairs.
    pub(crate) fn fuzzy_duplicates(
        &mut self,
        magnitude: f64,
        count: usize,
        part: u64,
    ) -> (Option<Planted>, Vec<Duplicate>) {
        let mut rng = Rng::keyed(self.seed, Stream::Duplicate, part, 0);
        let originals = self.candidates_for_duplicates();
        let chosen = rng.sample(&originals, count);
        let (lo, hi) = self.window.days();
        let mut pairs = Vec::with_capacity(chosen.len());
        let mut rows = Vec::with_capacity(chosen.len());
        for i in chosen {
            let day = working_day_in(&mut rng, lo, hi);
            let (dup, corruptions, same_address) = self.duplicate_of(&mut rng, i, day);
            pairs.push(Duplicate {
                original_voter_id: voter_id(self.reg.voters[i].id),
                duplicate_voter_id: voter_id(dup),
                snapshot: IsoDate(self.window.to).to_string(),
                corruptions,
                same_address,
            });
            rows.push(dup);
        }
        let event = (!rows.is_empty()).then(|| Planted {
            kind: AnomalyKind::FuzzyDuplicates.name(),
            benign: false,
            scope: "register",
            scope_value: "all".into(),
            magnitude,
            rows,
            details: Default::default(),
        });
        (event, pairs)
    }

    fn candidates_for_duplicates(&self) -> Vec<usize> {
        let w = self.window;
        (0..self.reg.voters.len())
            .filter(|&i| {
                let v = &self.reg.voters[i];
                (v.status == ACTIVE || v.status == INACTIVE)
                    && v.extra == NO_OVERRIDE
                    && v.flags & F_INSTITUTION == 0
                    && w.untouched(v)
            })
            .collect()
    }

    /// Appends a corrupted copy of record `i`; returns its id, corruptions and whether it is at
    /// the same address.
    fn duplicate_of(
        &mut self,
        rng: &mut Rng,
        i: usize,
        day: i32,
    ) -> (u32, Vec<&'static str>, bool) {
        let original = self.reg.voters[i].clone();
        let given = self.reg.given_name(&original).to_string();
        let family = self.reg.family_name(&original).to_string();
        let mut dup: Voter = original.clone();
        let mut corruptions = Vec::new();
        let mut o = super::population::Override::default();

        // Names: swapped, or each part corrupted independently.
        if rng.chance(0.12) && given != family {
            o.given = Some(family.clone());
            o.family = Some(given.clone());
            corruptions.push("swapped_names");
        } else {
            if rng.chance(0.55) {
                let (value, what) = corrupt_given(rng, &given);
                o.given = Some(value);
                corruptions.push(what);
            }
            if rng.chance(0.4) {
                let (value, what) = corrupt_family(rng, &family);
                o.family = Some(value);
                corruptions.push(what);
            }
        }
        if dup.flags & F_YEAR_ONLY == 0 {
            if let Some(t) = corrupt::transpose_day_month(dup.birth).filter(|_| rng.chance(0.15)) {
                dup.birth = t;
                corruptions.push("day_month_transposed");
            } else if rng.chance(0.08) {
                o.missing |= 1 << Field::BirthDate.index();
                o.missing |= 1 << Field::BirthYear.index();
                corruptions.push("missing_birth_date");
            }
        }
        if dup.middle != 0 && rng.chance(0.25) {
            o.missing |= 1 << Field::MiddleName.index();
            corruptions.push("missing_middle_name");
        }
        if dup.flags & F_NATIONAL_ID != 0 && rng.chance(MISSING_NATIONAL_ID_SHARE) {
            dup.flags &= !F_NATIONAL_ID;
            corruptions.push("missing_national_id");
        }
        if corruptions.is_empty() {
            let (value, what) = corrupt_given(rng, &given);
            o.given = Some(value);
            corruptions.push(what);
        }
        let same_address = rng.chance(SAME_ADDRESS_SHARE);
        if !same_address {
            let district = self.geo.district_of_street(dup.street);
            let precinct = if rng.chance(0.5) {
                *rng.pick(&self.geo.districts[district as usize].precincts)
            } else {
                self.geo.precinct_table.draw(rng) as u32
            };
            let a = draw_address(self.geo, rng, precinct);
            (dup.street, dup.house_number, dup.unit) = (a.street, a.house_number, a.unit);
            dup.household = self.reg.next_household;
            self.reg.next_household += 1;
            corruptions.push("moved");
        }
        dup.id = self.reg.next_id;
        self.reg.next_id += 1;
        dup.registered = day.max(original.registered);
        dup.flags &= !super::population::F_TWIN;
        dup.status = ACTIVE;
        dup.reason = R_NONE;
        dup.phone = if rng.chance(0.5) { original.phone } else { 0 };
        dup.email = if rng.chance(0.4) { original.email } else { 0 };
        dup.suffix = original.suffix;
        dup.changed_at = to_seconds(office_time(rng, day));
        let district = self.geo.district_of_street(dup.street);
        dup.changed_by = self.geo.draw_operator(rng, district);
        dup.extra = self.reg.overrides.len() as u32;
        self.reg.overrides.push(o);
        let id = dup.id;
        self.reg.voters.push(dup);
        (id, corruptions, same_address)
    }
}

/// A corrupted given name and the name of the corruption.
fn corrupt_given(rng: &mut Rng, given: &str) -> (String, &'static str) {
    let u = rng.unit();
    if u < 0.35 {
        if let Some(n) = corrupt::nickname(rng, given) {
            return (n, "nickname");
        }
    }
    if u < 0.55 {
        if let Some(p) = corrupt::phonetic_spelling(rng, given) {
            return (p, "phonetic_given_name");
        }
    }
    if u < 0.7 {
        if let Some(o) = corrupt::ocr_error(rng, given) {
            return (o, "ocr_given_name");
        }
    }
    (corrupt::keyboard_typo(rng, given), "typo_given_name")
}

/// A corrupted family name and the name of the corruption.
fn corrupt_family(rng: &mut Rng, family: &str) -> (String, &'static str) {
    let u = rng.unit();
    if u < 0.3 {
        if let Some(p) = corrupt::phonetic_spelling(rng, family) {
            return (p, "phonetic_family_name");
        }
    }
    if u < 0.5 {
        if let Some(o) = corrupt::ocr_error(rng, family) {
            return (o, "ocr_family_name");
        }
    }
    (corrupt::keyboard_typo(rng, family), "typo_family_name")
}
