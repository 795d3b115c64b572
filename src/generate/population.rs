//! The register in memory and the initial population: people in households at addresses.
//!
//! A record is a compact [`Voter`] (64 bytes: names are indexes into the name tables, the
//! address is a street index plus numbers), so that 10^8 records fit in a few GB. Text that is
//! not in a table (typos, nicknames, hyphenated names, hostile input) lives in a side table of
//! [`Override`]s that only the few altered records point to.
//!
//! Households are generated together, so that family members share a surname, an address and
//! sometimes a phone or an email, twins share a birth date and Jr/Sr pairs share a name: the
//! look-alikes a deduplicator must *not* merge.

use crate::dates::{civil_from_days, days_from_civil};

use super::geography::Geography;
use super::names::tables;
use super::rng::Rng;
use super::time::{office_time, to_seconds};

/// `Voter::extra` of a record without override.
pub(crate) const NO_OVERRIDE: u32 = u32::MAX;
/// Records formatted per generation chunk; chunks are the unit of parallel work.
pub(crate) const CHUNK: usize = 1 << 16;

/// Registration statuses in the order of [`crate::model::Status::ALL`].
pub(crate) const ACTIVE: u8 = 0;
pub(crate) const INACTIVE: u8 = 1;
pub(crate) const REMOVED: u8 = 2;
pub(crate) const PENDING: u8 = 3;

/// Status reasons (`status_reason`), index 0 = none.
pub(crate) const REASONS: [&str; 10] = [
    "",
    "deceased",
    "moved",
    "voter-request",
    "felony",
    "inactivity",
    "duplicate",
    "returned-mail",
    "no-contact",
    "underage",
];
pub(crate) const R_NONE: u8 = 0;
pub(crate) const R_DECEASED: u8 = 1;
pub(crate) const R_MOVED: u8 = 2;
pub(crate) const R_VOTER_REQUEST: u8 = 3;
pub(crate) const R_FELONY: u8 = 4;
pub(crate) const R_INACTIVITY: u8 = 5;
pub(crate) const R_DUPLICATE: u8 = 6;
pub(crate) const R_RETURNED_MAIL: u8 = 7;
pub(crate) const R_NO_CONTACT: u8 = 8;
pub(crate) const R_UNDERAGE: u8 = 9;

/// Name suffixes, index 0 = none.
pub(crate) const SUFFIXES: [&str; 4] = ["", "JR", "SR", "III"];
pub(crate) const SUFFIX_JR: u8 = 1;
pub(crate) const SUFFIX_SR: u8 = 2;

/// `Voter::flags` bits.
pub(crate) const F_NATIONAL_ID: u8 = 1;
/// Only the middle initial is recorded.
pub(crate) const F_MIDDLE_INITIAL: u8 = 2;
/// The birth date is missing but the birth year is known (North Carolina publishes only the
/// year).
pub(crate) const F_YEAR_ONLY: u8 = 4;
pub(crate) const F_TWIN: u8 = 8;
/// A member of an institutional household (care home, dormitory).
pub(crate) const F_INSTITUTION: u8 = 16;

/// Share of voters with a national id on file (the rest registered before ids were captured).
pub(super) const NATIONAL_ID_SHARE: f64 = 0.9;
/// Share of voters with a middle name, and of those recorded as an initial only.
pub(super) const MIDDLE_NAME_SHARE: f64 = 0.7;
pub(super) const MIDDLE_INITIAL_SHARE: f64 = 0.2;
/// Share of birth dates recorded as a year only: DOMAIN.md reports 0.9% to 4.5% of birth dates
/// missing or impossible by state.
pub(super) const YEAR_ONLY_SHARE: f64 = 0.01;
/// Households with a shared landline, and voters with their own mobile number on file.
pub(super) const HOUSEHOLD_PHONE_SHARE: f64 = 0.2;
pub(super) const OWN_PHONE_SHARE: f64 = 0.35;
/// Voters with an email on file, and couples sharing one email.
pub(super) const EMAIL_SHARE: f64 = 0.3;
pub(super) const SHARED_EMAIL_SHARE: f64 = 0.15;
/// Households in apartments (a unit number); the 2020 ACS puts ~26% of US housing in
/// multi-unit buildings.
pub(super) const APARTMENT_SHARE: f64 = 0.26;
/// Initial statuses: ~9% inactive (NC's file is ~8-10% inactive) and ~3.5% removed records
/// still exported.
pub(super) const INITIAL_INACTIVE: f64 = 0.09;
pub(super) const INITIAL_REMOVED: f64 = 0.035;
/// Share of adult 17-year-olds' pre-registrations among their age group (pending records).
pub(super) const PREREGISTRATION_SHARE: f64 = 0.3;
/// Share of records that carry a small typo from data entry, later corrected by churn.
pub(crate) const INITIAL_TYPO_SHARE: f64 = 0.004;
/// Mean years since (re-)registration: people re-register when they move (every ~10 years).
pub(super) const MEAN_YEARS_SINCE_REGISTRATION: f64 = 9.0;
/// Voters per institution (care homes, dormitories): one per this many voters, 40-240 residents
/// each (census group quarters hold ~2.5% of US adults).
pub(super) const VOTERS_PER_INSTITUTION: usize = 8_000;
/// First day of the electronic audit trail: older untouched records have no `changed_at`.
pub(crate) fn audit_start() -> i32 {
    days_from_civil(2005, 1, 1)
}

/// Text that replaces or blanks table values for one record.
#[derive(Clone, Debug, Default)]
pub(crate) struct Override {
    pub given: Option<String>,
    pub middle: Option<String>,
    pub family: Option<String>,
    /// Fields blanked in this record, bit `1 << Field::index()`.
    pub missing: u32,
    /// A data-entry typo that routine churn may correct.
    pub correctable: bool,
}

/// One registration record.
#[derive(Clone, Debug)]
pub(crate) struct Voter {
    pub id: u32,
    /// The person (national id derives from it); a duplicate shares its original's person.
    pub person: u32,
    pub household: u32,
    pub family: u32,
    pub given: u16,
    pub middle: u16,
    pub birth: i32,
    pub registered: i32,
    pub street: u32,
    pub house_number: u16,
    pub unit: u16,
    pub phone: u32,
    pub email: u32,
    /// Seconds since 1970 (0 = not recorded).
    pub changed_at: u32,
    pub changed_by: u16,
    pub extra: u32,
    /// 0 = F, 1 = M.
    pub sex: u8,
    pub suffix: u8,
    pub status: u8,
    pub reason: u8,
    pub party: u8,
    pub flags: u8,
}

/// The register: records sorted by id, plus the side tables they point to.
#[derive(Debug, Default)]
pub(crate) struct Register {
    pub voters: Vec<Voter>,
    pub overrides: Vec<Override>,
    /// Email addresses; index 0 is "no email".
    pub emails: Vec<Email>,
    /// Phones handed out so far (phone 0 = none).
    pub phones: u32,
    pub next_id: u32,
    pub next_person: u32,
    pub next_household: u32,
    /// Institutions: (household, kind).
    pub institutions: Vec<(u32, &'static str)>,
}

impl Register {
    pub(crate) fn override_of(&self, v: &Voter) -> Option<&Override> {
        (v.extra != NO_OVERRIDE).then(|| &self.overrides[v.extra as usize])
    }

    /// The override of a record, created if it has none.
    pub(crate) fn override_mut(&mut self, i: usize) -> &mut Override {
        if self.voters[i].extra == NO_OVERRIDE {
            self.voters[i].extra = self.overrides.len() as u32;
            self.overrides.push(Override::default());
        }
        &mut self.overrides[self.voters[i].extra as usize]
    }

    pub(crate) fn given_name(&self, v: &Voter) -> &str {
        match self.override_of(v).and_then(|o| o.given.as_deref()) {
            Some(s) => s,
            None => &tables().given[v.given as usize],
        }
    }

    pub(crate) fn family_name(&self, v: &Voter) -> &str {
        match self.override_of(v).and_then(|o| o.family.as_deref()) {
            Some(s) => s,
            None => &tables().surnames[v.family as usize],
        }
    }

    pub(crate) fn new_phone(&mut self) -> u32 {
        self.phones += 1;
        self.phones
    }

    pub(crate) fn new_email(&mut self, email: Email) -> u32 {
        self.emails.push(email);
        (self.emails.len() - 1) as u32
    }
}

/// An email address, kept as the name indexes it was made from (12 bytes rather than a
/// `String`: at 10^8 voters the difference is over a gigabyte).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Email {
    pub given: u16,
    /// A surname index, or [`SHARED_EMAIL`].
    pub family: u32,
    pub n: u32,
}

/// `Email::family` of the address many planted registrations share.
pub(crate) const SHARED_EMAIL: u32 = u32::MAX;

impl Email {
    /// Appends `given.familyNNN@domain`, lowercase ASCII, using the reserved `.example` domains
    /// (RFC 2606).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        const DOMAINS: [&str; 4] = [
            "mail.example",
            "post.example",
            "inbox.example",
            "net.example",
        ];
        let t = tables();
        let (given, family) = if self.family == SHARED_EMAIL {
            ("register", "help")
        } else {
            (
                t.given_email[self.given as usize].as_str(),
                t.surnames_email[self.family as usize].as_str(),
            )
        };
        out.extend_from_slice(given.as_bytes());
        out.push(b'.');
        out.extend_from_slice(family.as_bytes());
        let n = self.n % 1000;
        for (digit, shown) in [(n / 100, n >= 100), (n / 10 % 10, n >= 10), (n % 10, true)] {
            if shown {
                out.push(b'0' + digit as u8);
            }
        }
        out.push(b'@');
        out.extend_from_slice(DOMAINS[(self.n / 1000 % 4) as usize].as_bytes());
    }

    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8(out).expect("email addresses are ASCII")
    }
}

/// The date `years` after `days` (29 February becomes 28 February in common years).
pub(crate) fn add_years(days: i32, years: i32) -> i32 {
    let (y, m, d) = civil_from_days(days);
    let y2 = y + years;
    let d2 = d.min(crate::dates::days_in_month(y2, m));
    days_from_civil(y2, m, d2)
}

/// Relative number of registered voters of each age 0..=105: the adult population by age
/// (flat to 60, then a Gaussian-like decline: 57% at 75, 21% at 85, 5% at 95, close to the US
/// 2020 census pyramid) times the registration rate by age (Census CPS 2022: ~55% of 18-24s,
/// ~80% of 65+).
pub(crate) fn age_weight(age: u32) -> f64 {
    if age < 18 {
        return 0.0;
    }
    let a = f64::from(age);
    let population = if a < 60.0 {
        1.0
    } else {
        (-((a - 60.0) / 20.0).powi(2)).exp()
    };
    let registration = 0.55 + 0.25 * ((a - 18.0) / 40.0).min(1.0);
    population * registration
}

/// Everything needed to create people.
pub(crate) struct PersonFactory<'a> {
    pub geo: &'a Geography,
    pub seed: u64,
    /// The reference date: people's ages are measured on it.
    pub today: i32,
    age_table: super::rng::AliasTable,
}

/// A new person, before ids are attached.
pub(crate) struct NewPerson {
    pub sex: u8,
    pub given: u16,
    pub middle: u16,
    pub family: u32,
    pub birth: i32,
    pub flags: u8,
}

impl<'a> PersonFactory<'a> {
    pub(crate) fn new(geo: &'a Geography, seed: u64, today: i32) -> PersonFactory<'a> {
        let weights: Vec<f64> = (0..=105).map(age_weight).collect();
        PersonFactory {
            geo,
            seed,
            today,
            age_table: super::rng::AliasTable::new(&weights),
        }
    }

    pub(crate) fn draw_age(&self, rng: &mut Rng) -> u32 {
        self.age_table.draw(rng) as u32
    }

    /// A birth date for someone aged `age` on `today`.
    pub(crate) fn birth_for_age(&self, rng: &mut Rng, age: u32) -> i32 {
        add_years(self.today, -(age as i32)) - rng.below(365) as i32
    }

    pub(crate) fn person(&self, rng: &mut Rng, sex: u8, age: u32, family: u32) -> NewPerson {
        let t = tables();
        let (ids, table) = if sex == 0 {
            (&t.female, &t.female_table)
        } else {
            (&t.male, &t.male_table)
        };
        let given = ids[table.draw(rng)];
        let mut flags = 0;
        let middle = if rng.chance(MIDDLE_NAME_SHARE) {
            if rng.chance(MIDDLE_INITIAL_SHARE) {
                flags |= F_MIDDLE_INITIAL;
            }
            let m = ids[table.draw(rng)];
            if m == given {
                0
            } else {
                m
            }
        } else {
            0
        };
        if rng.chance(NATIONAL_ID_SHARE) {
            flags |= F_NATIONAL_ID;
        }
        if rng.chance(YEAR_ONLY_SHARE) {
            flags |= F_YEAR_ONLY;
        }
        NewPerson {
            sex,
            given,
            middle,
            family,
            birth: self.birth_for_age(rng, age),
            flags,
        }
    }

    pub(crate) fn surname(&self, rng: &mut Rng) -> u32 {
        tables().surname_table.draw(rng) as u32
    }

    /// A registration date for someone born on `birth`, on or before `latest`: an exponential
    /// number of years back, never before the 18th birthday (16th for a pre-registration).
    pub(crate) fn registration_date(&self, rng: &mut Rng, birth: i32, latest: i32) -> i32 {
        let years_back = -MEAN_YEARS_SINCE_REGISTRATION * (1.0 - rng.unit()).ln();
        let date = latest - (years_back * 365.25) as i32;
        let earliest = add_years(birth, 18).min(latest);
        date.max(earliest).min(latest)
    }
}

/// Where a household lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Address {
    pub street: u32,
    pub house_number: u16,
    pub unit: u16,
}

pub(crate) fn draw_address(geo: &Geography, rng: &mut Rng, precinct: u32) -> Address {
    let street = geo.street_in(rng, precinct);
    let max = geo.streets[street as usize].max_house;
    Address {
        street,
        house_number: 1 + rng.below(u64::from(max)) as u16,
        unit: if rng.chance(APARTMENT_SHARE) {
            1 + rng.below(40) as u16
        } else {
            0
        },
    }
}

/// Appends a newly registered record (registered on the working day `day`) and returns its
/// index.
pub(crate) fn push_new(
    reg: &mut Register,
    f: &PersonFactory,
    rng: &mut Rng,
    p: NewPerson,
    address: Address,
    household: u32,
    day: i32,
) -> usize {
    let district = f.geo.district_of_street(address.street);
    let phone = if rng.chance(OWN_PHONE_SHARE) {
        reg.new_phone()
    } else {
        0
    };
    let email = if rng.chance(EMAIL_SHARE) {
        let n = rng.below(1_000_000) as u32;
        reg.new_email(Email {
            given: p.given,
            family: p.family,
            n,
        })
    } else {
        0
    };
    let (id, person) = (reg.next_id, reg.next_person);
    reg.next_id += 1;
    reg.next_person += 1;
    reg.voters.push(Voter {
        id,
        person,
        household,
        family: p.family,
        given: p.given,
        middle: p.middle,
        birth: p.birth,
        registered: day,
        street: address.street,
        house_number: address.house_number,
        unit: address.unit,
        phone,
        email,
        changed_at: to_seconds(office_time(rng, day)),
        changed_by: f.geo.draw_operator(rng, district),
        extra: NO_OVERRIDE,
        sex: p.sex,
        suffix: 0,
        status: ACTIVE,
        reason: R_NONE,
        party: f.geo.draw_party(rng, district),
        flags: p.flags,
    });
    reg.voters.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_registrations_are_consistent() {
        let geo = Geography::build(5, 5_000);
        let today = days_from_civil(2026, 1, 5);
        let f = PersonFactory::new(&geo, 5, today);
        let reg = super::super::households::initial_population(&f, 5_000);
        assert_eq!(reg.voters.len(), 5_000);
        for v in &reg.voters {
            assert!(v.registered <= today && v.registered >= add_years(v.birth, 16));
            let adult = add_years(v.birth, 18) <= today;
            assert_eq!(v.status == PENDING, !adult, "{v:?}");
        }
        let ids: Vec<u32> = reg.voters.iter().map(|v| v.id).collect();
        assert_eq!(ids, (1..=5_000).collect::<Vec<_>>());
    }

    #[test]
    fn add_years_handles_leap_days() {
        let leap = days_from_civil(2024, 2, 29);
        assert_eq!(add_years(leap, 1), days_from_civil(2025, 2, 28));
        assert_eq!(add_years(leap, 4), days_from_civil(2028, 2, 29));
        assert_eq!(add_years(leap, -18), days_from_civil(2006, 2, 28));
    }
}
