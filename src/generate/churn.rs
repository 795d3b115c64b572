//! Routine churn between two snapshots: deaths, moves, marriages, party switches, typo
//! corrections, status changes and new registrations, each at a plausible yearly rate.
//!
//! Rates differ between areas more than a binomial model predicts (DOMAIN.md: overdispersion
//! makes naive z-scores raise false alarms), so each precinct draws its own multiplier per
//! interval and per kind of change from a lognormal with mean 1. Households move together,
//! which clusters moves further.
//!
//! Every per-record decision draws from a generator keyed by (interval, record id) or
//! (interval, household), so the result does not depend on rayon's scheduling.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::geography::Geography;
use super::names::tables;
use super::population::{
    add_years, draw_address, PersonFactory, Register, Voter, ACTIVE, F_INSTITUTION, INACTIVE,
    NO_OVERRIDE, PENDING, REMOVED, R_DECEASED, R_FELONY, R_MOVED, R_NONE, R_RETURNED_MAIL,
    R_VOTER_REQUEST,
};
use super::rng::{AliasTable, Rng, Stream};
use super::time::{day_of, nearest_working_day, office_time, to_seconds, working_day_in};

/// Ages above this count as this for the death hazard (placeholder birth dates such as
/// 1800-01-01 would otherwise dominate the normalisation).
const MAX_HAZARD_AGE: f64 = 110.0;
/// Deaths per year among registered voters (DOMAIN.md: ~0.9%), spread over ages by a
/// Gompertz hazard whose mortality doubles every 8 years (b = ln 2 / 8 = 0.087).
const DEATH_RATE: f64 = 0.009;
const GOMPERTZ_B: f64 = 0.087;
/// Household moves per year: DOMAIN.md gives 8-10% of voters moving per year; 3.5% leave the
/// jurisdiction (removed, reason `moved`) and 5.5% move inside it.
const MOVE_OUT_RATE: f64 = 0.035;
const MOVE_WITHIN_RATE: f64 = 0.055;
/// Of moves inside the jurisdiction: share staying in the precinct, and share staying in the
/// district (the rest go anywhere). Most moves are local (US CPS: ~60% within a county).
const MOVE_SAME_PRECINCT: f64 = 0.4;
const MOVE_SAME_DISTRICT: f64 = 0.8;
/// Surname changes at marriage per year, among women aged 20-45 (~2% marry per year in that
/// group and most take the spouse's name).
const MARRIAGE_RATE: f64 = 0.015;
/// Party switches per year (DOMAIN.md: 1-2% where party is recorded).
const PARTY_SWITCH_RATE: f64 = 0.015;
/// Share per year of records with a data-entry typo that get corrected.
const TYPO_CORRECTION_RATE: f64 = 0.25;
/// Active to inactive per year (returned mail, no contact), and inactive back to active.
const INACTIVATION_RATE: f64 = 0.03;
const REACTIVATION_RATE: f64 = 0.12;
/// Removals at the voter's request and for felony convictions per year.
const VOTER_REQUEST_RATE: f64 = 0.0008;
const FELONY_RATE: f64 = 0.0003;
/// Birth-date corrections per year: DOMAIN.md says they should be rare (a correction at most).
const BIRTH_DATE_CORRECTION_RATE: f64 = 0.0002;
/// New registrations per year as a share of the register: about the removals (deaths 0.9% +
/// moves out 3.5% + other) plus 1% growth, so the register stays roughly stable over a cycle.
const NEW_REGISTRATION_RATE: f64 = 0.055;
/// Share of new registrations who just came of age (the rest move in).
const FIRST_TIME_SHARE: f64 = 0.4;
/// Removed rows stay in the export for at least this many days, then are dropped with
/// [`DROP_CHANCE`] per interval.
const KEEP_REMOVED_DAYS: i32 = 365;
const DROP_CHANCE: f64 = 0.5;
/// Log-standard-deviations of the per-precinct rate multipliers. Moves and status changes
/// vary a lot between areas (students, rentals, mail-return practice); deaths vary less.
const SIGMA_MOVES: f64 = 0.45;
const SIGMA_INACTIVATION: f64 = 0.5;
const SIGMA_DEATHS: f64 = 0.2;
const SIGMA_REGISTRATIONS: f64 = 0.4;

/// One interval between consecutive snapshots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Interval {
    pub index: usize,
    pub from: i32,
    pub to: i32,
    /// Routine edits happen on or before this day (the roll freeze in the last interval).
    pub last_edit: i32,
    /// New registrations are accepted on or before this day (the cutoff in the last interval).
    pub last_registration: i32,
}

impl Interval {
    pub(crate) fn years(&self) -> f64 {
        f64::from(self.to - self.from) / 365.25
    }

    /// Seconds at the end of the previous snapshot day: records changed later were touched in
    /// this interval.
    pub(crate) fn start_seconds(&self) -> u32 {
        to_seconds(super::time::Stamp {
            day: self.from + 1,
            second: 0,
        })
    }
}

/// Per-precinct rate multipliers for one interval, and the interval probabilities they give.
struct Multipliers {
    deaths: Vec<f64>,
    move_out: Vec<f64>,
    move_within: Vec<f64>,
    inactivation: Vec<f64>,
}

fn multipliers(seed: u64, geo: &Geography, iv: &Interval) -> (Multipliers, Vec<f64>) {
    let n = geo.precincts.len();
    let interval = iv.index;
    let years = iv.years();
    let mut m = Multipliers {
        deaths: Vec::with_capacity(n),
        move_out: Vec::with_capacity(n),
        move_within: Vec::with_capacity(n),
        inactivation: Vec::with_capacity(n),
    };
    let mut registrations = Vec::with_capacity(n);
    for p in 0..n {
        let mut rng = Rng::keyed(seed, Stream::Overdispersion, interval as u64, p as u64);
        let moves = rng.lognormal_mean_one(SIGMA_MOVES);
        m.move_out.push(prob(MOVE_OUT_RATE * moves, years));
        m.move_within.push(prob(MOVE_WITHIN_RATE * moves, years));
        let inactivation = rng.lognormal_mean_one(SIGMA_INACTIVATION);
        m.inactivation
            .push(prob(INACTIVATION_RATE * inactivation, years));
        m.deaths.push(rng.lognormal_mean_one(SIGMA_DEATHS));
        registrations.push(geo.precinct_weights[p] * rng.lognormal_mean_one(SIGMA_REGISTRATIONS));
    }
    (m, registrations)
}

/// Churn counters, in the order of [`CHURN_KINDS`].
type Counts = [u64; CHURN_KINDS.len()];

/// The names of the churn counters in `truth.json`.
pub(crate) const CHURN_KINDS: [&str; 16] = [
    "deaths",
    "moves_out",
    "moves_within_precinct",
    "moves_between_precincts",
    "new_registrations",
    "new_registrations_first_time",
    "marriages",
    "party_switches",
    "typo_corrections",
    "inactivations",
    "reactivations",
    "voter_requests",
    "felony_removals",
    "birth_date_corrections",
    "coming_of_age",
    "dropped_removed_records",
];

#[derive(Clone, Copy)]
enum Churn {
    Death,
    MoveOut,
    MoveWithin,
    MoveBetween,
    NewRegistration,
    FirstTime,
    Marriage,
    PartySwitch,
    TypoCorrection,
    Inactivation,
    Reactivation,
    VoterRequest,
    Felony,
    BirthDateCorrection,
    ComingOfAge,
    Dropped,
}

/// Per-interval probability from a yearly rate.
fn prob(rate: f64, years: f64) -> f64 {
    1.0 - (1.0 - rate.min(0.999)).powf(years)
}

/// Interval probabilities of the changes whose rate is the same everywhere.
struct Uniform {
    voter_request: f64,
    felony: f64,
    marriage: f64,
    party_switch: f64,
    typo_correction: f64,
    reactivation: f64,
    birth_date_correction: f64,
}

impl Uniform {
    fn new(years: f64) -> Uniform {
        Uniform {
            voter_request: prob(VOTER_REQUEST_RATE, years),
            felony: prob(FELONY_RATE, years),
            marriage: prob(MARRIAGE_RATE, years),
            party_switch: prob(PARTY_SWITCH_RATE, years),
            typo_correction: prob(TYPO_CORRECTION_RATE, years),
            reactivation: prob(REACTIVATION_RATE, years),
            birth_date_correction: prob(BIRTH_DATE_CORRECTION_RATE, years),
        }
    }
}

/// The shared context of one interval's churn.
struct Ctx<'a> {
    seed: u64,
    geo: &'a Geography,
    iv: Interval,
    m: Multipliers,
    p: Uniform,
    gompertz_a: f64,
}

impl Ctx<'_> {
    fn stamp(&self, rng: &mut Rng, v: &mut Voter) {
        let day = working_day_in(rng, self.iv.from + 1, self.iv.last_edit);
        v.changed_at = to_seconds(office_time(rng, day));
        v.changed_by = self
            .geo
            .draw_operator(rng, self.geo.district_of_street(v.street));
    }

    /// The household's move this interval, identical for every member. Residents of an
    /// institution (care home, dormitory) are not a family: each moves on their own, keyed
    /// by voter id. Moving a whole care home as one household would plant a mass
    /// relocation, a real anomaly, in a series meant to be clean.
    fn household_move(&self, v: &Voter) -> Option<(bool, super::population::Address, u32, u16)> {
        let mover = if v.flags & F_INSTITUTION != 0 {
            // Household ids and voter ids are both u32: the top bit keeps their keys apart.
            (1u64 << 32) | u64::from(v.id)
        } else {
            u64::from(v.household)
        };
        let mut h = Rng::keyed(self.seed, Stream::Move, self.iv.index as u64, mover);
        let precinct = self.geo.precinct_of_street(v.street);
        let u = h.unit();
        let p_out = self.m.move_out[precinct as usize];
        let p_in = self.m.move_within[precinct as usize];
        if u >= p_out + p_in {
            return None;
        }
        let day = working_day_in(&mut h, self.iv.from + 1, self.iv.last_edit);
        let stamp = to_seconds(office_time(&mut h, day));
        let district = self.geo.precincts[precinct as usize].district;
        let operator = self.geo.draw_operator(&mut h, district);
        let w = h.unit();
        let to_precinct = if w < MOVE_SAME_PRECINCT {
            precinct
        } else if w < MOVE_SAME_DISTRICT {
            *h.pick(&self.geo.districts[district as usize].precincts)
        } else {
            self.geo.precinct_table.draw(&mut h) as u32
        };
        let address = draw_address(self.geo, &mut h, to_precinct);
        Some((u < p_out, address, stamp, operator))
    }

    /// Applies routine churn to one record; returns what happened to it.
    fn record(&self, v: &mut Voter, typo: bool) -> Option<Churn> {
        if v.status == REMOVED {
            return None;
        }
        let mut rng = Rng::keyed(
            self.seed,
            Stream::Churn,
            self.iv.index as u64,
            u64::from(v.id),
        );
        let years = self.iv.years();
        if v.status == PENDING {
            let adult = add_years(v.birth, 18);
            if adult <= self.iv.to {
                v.status = ACTIVE;
                v.reason = R_NONE;
                let day = adult.clamp(self.iv.from + 1, self.iv.last_edit);
                let day = nearest_working_day(day, self.iv.from + 1, self.iv.last_edit);
                v.changed_at = to_seconds(office_time(&mut rng, day));
                v.changed_by = self
                    .geo
                    .draw_operator(&mut rng, self.geo.district_of_street(v.street));
                return Some(Churn::ComingOfAge);
            }
            return None;
        }
        let precinct = self.geo.precinct_of_street(v.street) as usize;
        let age = f64::from(self.iv.from - v.birth) / 365.25;
        let hazard_age = age.clamp(0.0, MAX_HAZARD_AGE);
        let p_death = self.gompertz_a * (GOMPERTZ_B * hazard_age).exp() * self.m.deaths[precinct];
        if rng.chance(prob(p_death, years)) {
            v.status = REMOVED;
            v.reason = R_DECEASED;
            self.stamp(&mut rng, v);
            return Some(Churn::Death);
        }
        if let Some((out, address, stamp, operator)) = self.household_move(v) {
            let before = self.geo.precinct_of_street(v.street);
            (v.changed_at, v.changed_by) = (stamp, operator);
            if out {
                v.status = REMOVED;
                v.reason = R_MOVED;
                return Some(Churn::MoveOut);
            }
            (v.street, v.house_number, v.unit) =
                (address.street, address.house_number, address.unit);
            if v.flags & F_INSTITUTION != 0 {
                // The institution's switchboard number stays behind with the institution.
                v.phone = 0;
            }
            let within = self.geo.precinct_of_street(v.street) == before;
            return Some(if within {
                Churn::MoveWithin
            } else {
                Churn::MoveBetween
            });
        }
        let u = rng.unit();
        let mut acc = self.p.voter_request;
        if u < acc {
            (v.status, v.reason) = (REMOVED, R_VOTER_REQUEST);
            self.stamp(&mut rng, v);
            return Some(Churn::VoterRequest);
        }
        acc += self.p.felony;
        if u < acc {
            (v.status, v.reason) = (REMOVED, R_FELONY);
            self.stamp(&mut rng, v);
            return Some(Churn::Felony);
        }
        let woman_20_45 = v.sex == 0 && (20.0..45.0).contains(&age);
        if woman_20_45 && v.extra == NO_OVERRIDE && v.suffix == 0 && rng.chance(self.p.marriage) {
            v.family = tables().surname_table.draw(&mut rng) as u32;
            self.stamp(&mut rng, v);
            return Some(Churn::Marriage);
        }
        if rng.chance(self.p.party_switch) {
            let district = self.geo.district_of_street(v.street);
            let mut party = self.geo.draw_party(&mut rng, district);
            if party == v.party {
                party = (party + 1 + rng.below(4) as u8) % 5;
            }
            v.party = party;
            self.stamp(&mut rng, v);
            return Some(Churn::PartySwitch);
        }
        if typo && rng.chance(self.p.typo_correction) {
            v.extra = NO_OVERRIDE;
            self.stamp(&mut rng, v);
            return Some(Churn::TypoCorrection);
        }
        if v.status == ACTIVE && rng.chance(self.m.inactivation[precinct]) {
            (v.status, v.reason) = (INACTIVE, R_RETURNED_MAIL);
            self.stamp(&mut rng, v);
            return Some(Churn::Inactivation);
        }
        if v.status == INACTIVE && rng.chance(self.p.reactivation) {
            (v.status, v.reason) = (ACTIVE, R_NONE);
            self.stamp(&mut rng, v);
            return Some(Churn::Reactivation);
        }
        if rng.chance(self.p.birth_date_correction) {
            v.birth += rng.range_i32(1, 20) * if rng.chance(0.5) { 1 } else { -1 };
            self.stamp(&mut rng, v);
            return Some(Churn::BirthDateCorrection);
        }
        None
    }
}

/// The Gompertz scale that gives [`DEATH_RATE`] over the register's living records.
fn gompertz_scale(voters: &[Voter], on: i32) -> f64 {
    let (n, sum) = voters
        .par_iter()
        .filter(|v| v.status == ACTIVE || v.status == INACTIVE)
        .map(|v| {
            let age = (f64::from(on - v.birth) / 365.25).clamp(0.0, MAX_HAZARD_AGE);
            (1.0, (GOMPERTZ_B * age).exp())
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if sum > 0.0 {
        DEATH_RATE * n / sum
    } else {
        0.0
    }
}

/// Drops long-removed rows, then applies routine changes to every record. Returns the counts.
pub(crate) fn routine_changes(
    reg: &mut Register,
    geo: &Geography,
    seed: u64,
    iv: Interval,
) -> (Counts, Vec<f64>) {
    let mut counts: Counts = [0; CHURN_KINDS.len()];
    let before = reg.voters.len();
    reg.voters.retain(|v| {
        v.status != REMOVED
            || v.changed_at != 0 && day_of(v.changed_at) > iv.to - KEEP_REMOVED_DAYS
            || !Rng::keyed(
                seed,
                Stream::Churn,
                iv.index as u64 | 1 << 32,
                u64::from(v.id),
            )
            .chance(DROP_CHANCE)
    });
    counts[Churn::Dropped as usize] = (before - reg.voters.len()) as u64;
    let (m, registration_weights) = multipliers(seed, geo, &iv);
    let ctx = Ctx {
        seed,
        geo,
        iv,
        gompertz_a: gompertz_scale(&reg.voters, iv.from),
        m,
        p: Uniform::new(iv.years()),
    };
    let overrides = &reg.overrides;
    let changed = reg
        .voters
        .par_iter_mut()
        .fold(
            || [0u64; CHURN_KINDS.len()],
            |mut acc, v| {
                let typo = v.extra != NO_OVERRIDE && overrides[v.extra as usize].correctable;
                if let Some(kind) = ctx.record(v, typo) {
                    acc[kind as usize] += 1;
                }
                acc
            },
        )
        .reduce(
            || [0u64; CHURN_KINDS.len()],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    counts.iter_mut().zip(changed).for_each(|(x, y)| *x += y);
    (counts, registration_weights)
}

/// Appends new registrations: young people joining their parents' household, and households
/// moving in. Returns (registrations, of which first-time).
pub(crate) fn new_registrations(
    reg: &mut Register,
    f: &PersonFactory,
    seed: u64,
    iv: Interval,
    weights: &[f64],
) -> (u64, u64) {
    let living = reg.voters.iter().filter(|v| v.status != REMOVED).count();
    let target = (NEW_REGISTRATION_RATE * iv.years() * living as f64).round() as usize;
    let mut rng = Rng::keyed(seed, Stream::NewRegistration, iv.index as u64, 0);
    let table = AliasTable::new(weights);
    let (mut added, mut first_time) = (0usize, 0usize);
    let existing = reg.voters.len();
    while added < target {
        let day = working_day_in(&mut rng, iv.from + 1, iv.last_registration);
        if rng.chance(FIRST_TIME_SHARE) {
            if let Some(parent) = find_parent(reg, &mut rng, existing, day) {
                let p = reg.voters[parent].clone();
                let birth = add_years(day, -18) - rng.below(200) as i32;
                let sex = rng.below(2) as u8;
                let mut person = f.person(&mut rng, sex, 18, p.family);
                person.birth = birth;
                let address = super::population::Address {
                    street: p.street,
                    house_number: p.house_number,
                    unit: p.unit,
                };
                super::population::push_new(reg, f, &mut rng, person, address, p.household, day);
                added += 1;
                first_time += 1;
                continue;
            }
        }
        let precinct = table.draw(&mut rng) as u32;
        let address = draw_address(f.geo, &mut rng, precinct);
        let household = reg.next_household;
        reg.next_household += 1;
        let size = 1 + rng.below(3) as usize;
        let family = f.surname(&mut rng);
        for k in 0..size.min(target - added) {
            let age = f.draw_age(&mut rng);
            let sex = rng.below(2) as u8;
            let fam = if k == 0 || rng.chance(0.75) {
                family
            } else {
                f.surname(&mut rng)
            };
            let person = f.person(&mut rng, sex, age, fam);
            super::population::push_new(reg, f, &mut rng, person, address, household, day);
            added += 1;
        }
    }
    (added as u64, first_time as u64)
}

/// A living record aged 38-60 to be the parent of a new 18-year-old voter.
fn find_parent(reg: &Register, rng: &mut Rng, n: usize, day: i32) -> Option<usize> {
    (0..20).find_map(|_| {
        let i = rng.below(n as u64) as usize;
        let v = &reg.voters[i];
        let age = (day - v.birth) / 365;
        (v.status == ACTIVE && (38..=60).contains(&age)).then_some(i)
    })
}

/// Counts as the `churn` map of `truth.json`.
pub(crate) fn counts_map(counts: &Counts) -> BTreeMap<&'static str, u64> {
    CHURN_KINDS
        .iter()
        .copied()
        .zip(counts.iter().copied())
        .collect()
}

/// Records the new-registration counts.
pub(crate) fn add_registrations(counts: &mut Counts, total: u64, first_time: u64) {
    counts[Churn::NewRegistration as usize] += total;
    counts[Churn::FirstTime as usize] += first_time;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yearly_rates_scale_to_the_interval() {
        assert!((prob(0.1, 1.0) - 0.1).abs() < 1e-12);
        let quarter = prob(0.1, 0.25);
        assert!((1.0 - quarter).powi(4) - 0.9 < 1e-12);
        assert!(prob(0.5, 0.0).abs() < 1e-12);
    }

    #[test]
    fn churn_kinds_match_the_enum() {
        assert_eq!(
            CHURN_KINDS[Churn::Dropped as usize],
            "dropped_removed_records"
        );
        assert_eq!(CHURN_KINDS[Churn::Death as usize], "deaths");
        assert_eq!(CHURN_KINDS[Churn::ComingOfAge as usize], "coming_of_age");
    }
}
