//! The households of the first snapshot: who lives with whom, at which address, with which
//! shared phone or email, and the records they hold on the first snapshot date.
//!
//! Generation runs in parallel over fixed chunks of records, each chunk with its own keyed
//! generator and chunk-local side tables that are merged in chunk order, so the result does
//! not depend on the number of threads.

use rayon::prelude::*;

use super::names::tables;
use super::population::{
    add_years, audit_start, draw_address, Address, Email, NewPerson, Override, PersonFactory,
    Register, Voter, ACTIVE, CHUNK, EMAIL_SHARE, F_INSTITUTION, F_TWIN, F_YEAR_ONLY,
    HOUSEHOLD_PHONE_SHARE, INACTIVE, INITIAL_INACTIVE, INITIAL_REMOVED, INITIAL_TYPO_SHARE,
    NO_OVERRIDE, OWN_PHONE_SHARE, PENDING, PREREGISTRATION_SHARE, REMOVED, R_DECEASED, R_DUPLICATE,
    R_FELONY, R_MOVED, R_NONE, R_NO_CONTACT, R_RETURNED_MAIL, R_UNDERAGE, R_VOTER_REQUEST,
    SHARED_EMAIL_SHARE, SUFFIX_JR, SUFFIX_SR, VOTERS_PER_INSTITUTION,
};
use super::rng::{Rng, Stream};
use super::time::{office_time, to_seconds, working_day_on_or_before};

/// Output of one chunk of initial generation, with chunk-local side tables.
struct ChunkPeople {
    voters: Vec<Voter>,
    overrides: Vec<Override>,
    emails: Vec<Email>,
    phones: u32,
    households: u32,
    institutions: Vec<(u32, &'static str)>,
}

/// A member of a household under construction.
struct Member {
    p: NewPerson,
    suffix: u8,
    extra_flags: u8,
}

impl ChunkPeople {
    fn push_household(
        &mut self,
        f: &PersonFactory,
        rng: &mut Rng,
        members: Vec<Member>,
        address: Address,
    ) {
        let household = self.households;
        self.households += 1;
        let district = f.geo.district_of_street(address.street);
        let shared_phone = if rng.chance(HOUSEHOLD_PHONE_SHARE) {
            self.phones += 1;
            self.phones
        } else {
            0
        };
        let head_party = f.geo.draw_party(rng, district);
        let mut shared_email = 0;
        for (k, m) in members.into_iter().enumerate() {
            let phone = if shared_phone != 0 {
                shared_phone
            } else if rng.chance(OWN_PHONE_SHARE) {
                self.phones += 1;
                self.phones
            } else {
                0
            };
            let email = if k == 1 && shared_email != 0 && rng.chance(SHARED_EMAIL_SHARE) {
                shared_email
            } else if rng.chance(EMAIL_SHARE) {
                self.emails.push(Email {
                    given: m.p.given,
                    family: m.p.family,
                    n: rng.below(1_000_000) as u32,
                });
                self.emails.len() as u32
            } else {
                0
            };
            if k == 0 {
                shared_email = email;
            }
            let v = initial_record(f, rng, m, address, household, phone, email, district);
            let party = if rng.chance(0.7) { head_party } else { v.party };
            self.voters.push(Voter { party, ..v });
        }
    }
}

#[allow(clippy::too_many_arguments)] // a record is built from many independent parts
fn initial_record(
    f: &PersonFactory,
    rng: &mut Rng,
    m: Member,
    address: Address,
    household: u32,
    phone: u32,
    email: u32,
    district: u32,
) -> Voter {
    let adult = add_years(m.p.birth, 18) <= f.today;
    let registered = if adult {
        f.registration_date(rng, m.p.birth, f.today)
    } else {
        (add_years(m.p.birth, 16) + rng.below(300) as i32).min(f.today)
    };
    let (status, reason) = if !adult {
        (PENDING, R_UNDERAGE)
    } else {
        let u = rng.unit();
        if u < INITIAL_REMOVED {
            let r = rng.unit();
            let reason = match r {
                r if r < 0.55 => R_MOVED,
                r if r < 0.85 => R_DECEASED,
                r if r < 0.93 => R_VOTER_REQUEST,
                r if r < 0.96 => R_FELONY,
                _ => R_DUPLICATE,
            };
            (REMOVED, reason)
        } else if u < INITIAL_REMOVED + INITIAL_INACTIVE {
            let reason = if rng.chance(0.6) {
                R_RETURNED_MAIL
            } else {
                R_NO_CONTACT
            };
            (INACTIVE, reason)
        } else {
            (ACTIVE, R_NONE)
        }
    };
    // The last change: the registration itself, a later edit, or the status change.
    let last_change = if status != ACTIVE && status != PENDING {
        (registered + 1).max(f.today - 30 - rng.below(700) as i32)
    } else if rng.chance(0.3) {
        rng.range_i32(registered, f.today)
    } else {
        registered
    };
    let last_change = last_change.min(f.today);
    let (changed_at, changed_by) = if last_change < audit_start() {
        (0, 0)
    } else {
        (
            to_seconds(office_time(rng, working_day_on_or_before(last_change))),
            f.geo.draw_operator(rng, district),
        )
    };
    Voter {
        id: 0,
        person: 0,
        household,
        family: m.p.family,
        given: m.p.given,
        middle: m.p.middle,
        birth: m.p.birth,
        registered,
        street: address.street,
        house_number: address.house_number,
        unit: address.unit,
        phone,
        email,
        changed_at,
        changed_by,
        extra: NO_OVERRIDE,
        sex: m.p.sex,
        suffix: m.suffix,
        status,
        reason,
        party: f.geo.draw_party(rng, district),
        flags: m.p.flags | m.extra_flags,
    }
}

/// Household compositions of registered adults, with their shares (ACS 2022 household types,
/// restricted to adults: ~28% one-person, ~47% couples, the rest families with adult children,
/// multigenerational homes and unrelated roommates).
fn household_members(f: &PersonFactory, rng: &mut Rng) -> Vec<Member> {
    let head_age = f.draw_age(rng).max(20);
    let head_sex = rng.below(2) as u8;
    let family = f.surname(rng);
    let member = |rng: &mut Rng, sex: u8, age: u32, family: u32| Member {
        p: f.person(rng, sex, age, family),
        suffix: 0,
        extra_flags: 0,
    };
    let mut members = vec![member(rng, head_sex, head_age, family)];
    let u = rng.unit();
    if u < 0.28 {
        return members;
    }
    if u < 0.88 {
        // A couple (95% opposite sex), 75% sharing the surname.
        let partner_sex = if rng.chance(0.95) {
            1 - head_sex
        } else {
            head_sex
        };
        let partner_age = (f64::from(head_age) + rng.normal() * 3.5).clamp(18.0, 100.0) as u32;
        let partner_family = if rng.chance(0.75) {
            family
        } else {
            f.surname(rng)
        };
        members.push(member(rng, partner_sex, partner_age, partner_family));
        if u >= 0.75 {
            add_children(f, rng, &mut members, head_age, family);
        }
    } else if u < 0.94 {
        add_children(f, rng, &mut members, head_age, family);
    } else {
        for _ in 0..1 + rng.below(3) {
            let age = (f64::from(head_age) + rng.normal() * 4.0).clamp(18.0, 60.0) as u32;
            let sex = rng.below(2) as u8;
            let fam = f.surname(rng);
            members.push(member(rng, sex, age, fam));
        }
    }
    members
}

/// Adult (or 17-year-old pre-registered) children: twins 3% of two-child families (US twin
/// birth rate ~3%), a Jr named after the father in 5% of sons.
fn add_children(
    f: &PersonFactory,
    rng: &mut Rng,
    members: &mut Vec<Member>,
    head_age: u32,
    family: u32,
) {
    let n = 1 + rng.below(2) as usize;
    let first_age = head_age.saturating_sub(22 + rng.below(16) as u32);
    for k in 0..n {
        let age = first_age.saturating_sub(k as u32 * (1 + rng.below(4) as u32));
        if age < 17 || (age == 17 && !rng.chance(PREREGISTRATION_SHARE)) {
            continue;
        }
        let sex = rng.below(2) as u8;
        let mut child = Member {
            p: f.person(rng, sex, age, family),
            suffix: 0,
            extra_flags: 0,
        };
        if k == 1 && members.len() >= 2 && rng.chance(0.03) {
            let twin = members.len() - 1;
            if members[twin].suffix == 0 && members[twin].p.family == family {
                child.p.birth = members[twin].p.birth;
                // Twins are listed as look-alikes with one full birth date each.
                child.p.flags &= !F_YEAR_ONLY;
                members[twin].p.flags &= !F_YEAR_ONLY;
                child.extra_flags |= F_TWIN;
                members[twin].extra_flags |= F_TWIN;
            }
        }
        let father = members
            .iter()
            .position(|m| m.p.sex == 1 && m.p.family == family);
        if let Some(father) = father {
            if sex == 1 && k == 0 && members[father].suffix == 0 && rng.chance(0.05) {
                members[father].suffix = SUFFIX_SR;
                child.suffix = SUFFIX_JR;
                child.p.given = members[father].p.given;
            }
        }
        members.push(child);
    }
}

fn institution(f: &PersonFactory, rng: &mut Rng, chunk: &mut ChunkPeople) {
    let precinct = f.geo.precinct_table.draw(rng) as u32;
    let mut address = draw_address(f.geo, rng, precinct);
    address.unit = 0;
    let care_home = rng.chance(0.6);
    let residents = 40 + rng.below(200) as u32;
    let members = (0..residents)
        .map(|_| {
            let age = if care_home {
                75 + rng.below(25) as u32
            } else {
                18 + rng.below(5) as u32
            };
            let sex = rng.below(2) as u8;
            let family = f.surname(rng);
            Member {
                p: f.person(rng, sex, age, family),
                suffix: 0,
                extra_flags: F_INSTITUTION,
            }
        })
        .collect();
    let kind = if care_home { "care-home" } else { "dormitory" };
    chunk.institutions.push((chunk.households, kind));
    chunk.push_household(f, rng, members, address);
}

fn generate_chunk(f: &PersonFactory, index: usize, quota: usize) -> ChunkPeople {
    let mut rng = Rng::keyed(f.seed, Stream::Household, index as u64, 0);
    let mut chunk = ChunkPeople {
        voters: Vec::with_capacity(quota + 8),
        overrides: Vec::new(),
        emails: Vec::new(),
        phones: 0,
        households: 0,
        institutions: Vec::new(),
    };
    let institutions_expected = quota as f64 / VOTERS_PER_INSTITUTION as f64;
    let mut institutions = institutions_expected as usize;
    if rng.chance(institutions_expected.fract()) {
        institutions += 1;
    }
    for _ in 0..institutions {
        institution(f, &mut rng, &mut chunk);
    }
    while chunk.voters.len() < quota {
        let precinct = f.geo.precinct_table.draw(&mut rng) as u32;
        let address = draw_address(f.geo, &mut rng, precinct);
        let members = household_members(f, &mut rng);
        chunk.push_household(f, &mut rng, members, address);
    }
    chunk.voters.truncate(quota);
    for v in chunk.voters.iter_mut() {
        if rng.chance(INITIAL_TYPO_SHARE) {
            let mut o = Override {
                correctable: true,
                ..Override::default()
            };
            let t = tables();
            if rng.chance(0.5) {
                o.given = Some(super::corrupt::keyboard_typo(
                    &mut rng,
                    &t.given[v.given as usize],
                ));
            } else {
                o.family = Some(super::corrupt::keyboard_typo(
                    &mut rng,
                    &t.surnames[v.family as usize],
                ));
            }
            v.extra = chunk.overrides.len() as u32;
            chunk.overrides.push(o);
        }
    }
    chunk
}

/// Generates `count` records in households, sorted and numbered by registration date
/// (registers hand out ids in order of registration), ids `1..=count`.
pub(crate) fn initial_population(f: &PersonFactory, count: usize) -> Register {
    let chunks: Vec<ChunkPeople> = (0..count.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| generate_chunk(f, c, CHUNK.min(count - c * CHUNK)))
        .collect();
    let mut reg = Register {
        emails: vec![Email {
            given: 0,
            family: 0,
            n: 0,
        }],
        ..Register::default()
    };
    for mut chunk in chunks {
        let (phones, emails, households, overrides) = (
            reg.phones,
            reg.emails.len() as u32 - 1,
            reg.next_household,
            reg.overrides.len() as u32,
        );
        for v in chunk.voters.iter_mut() {
            v.household += households;
            if v.phone != 0 {
                v.phone += phones;
            }
            if v.email != 0 {
                v.email += emails;
            }
            if v.extra != NO_OVERRIDE {
                v.extra += overrides;
            }
        }
        reg.institutions
            .extend(chunk.institutions.iter().map(|&(h, k)| (h + households, k)));
        reg.phones += chunk.phones;
        reg.next_household += chunk.households;
        reg.emails.append(&mut chunk.emails);
        reg.overrides.append(&mut chunk.overrides);
        reg.voters.append(&mut chunk.voters);
    }
    let seed = f.seed;
    reg.voters
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, v)| v.person = i as u32 + 1);
    reg.voters.par_sort_unstable_by_key(|v| {
        (v.registered, super::rng::mix64(seed ^ u64::from(v.person)))
    });
    reg.voters
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, v)| v.id = i as u32 + 1);
    reg.next_id = count as u32 + 1;
    reg.next_person = count as u32 + 1;
    reg
}
