//! Planted anomalies that create records or change who a record is: bulk registrations at
//! one address, registrations sharing one phone or email, implausible records, voter-id reuse
//! and (benign) re-keying.
//!
//! They differ from the edits in [`super::anomalies`] in that the records they list did not
//! exist, or were a different person, in the previous snapshot: a detector must compare
//! identities, not only field values.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::dates::{days_from_civil, IsoDate};

use super::anomalies::{living, Planted, Planter};
use super::geography::Geography;
use super::kinds::AnomalyKind;
use super::population::{add_years, draw_address, push_new, Address, ACTIVE, NO_OVERRIDE, REMOVED};
use super::rng::Rng;
use super::time::{to_seconds, working_day_in};
use super::truth::voter_id;

impl Planter<'_> {
    /// New registrations by one operator over a few days; `make` builds each person.
    fn register_many(
        &mut self,
        rng: &mut Rng,
        count: usize,
        operator: u16,
        mut place: impl FnMut(&mut Rng, &Geography) -> Address,
    ) -> Vec<usize> {
        let (lo, hi) = self.window.registration_days();
        let first = working_day_in(rng, lo, (hi - 3).max(lo));
        (0..count)
            .map(|_| {
                let day = working_day_in(rng, first, (first + 2).min(hi));
                let age = self.factory.draw_age(rng);
                let sex = rng.below(2) as u8;
                let family = self.factory.surname(rng);
                let person = self.factory.person(rng, sex, age, family);
                let address = place(rng, self.geo);
                let household = self.reg.next_household;
                self.reg.next_household += 1;
                let i = push_new(self.reg, self.factory, rng, person, address, household, day);
                self.reg.voters[i].changed_by = operator;
                i
            })
            .collect()
    }

    pub(crate) fn bulk_registration(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::BulkRegistration;
        let mut rng = self.rng(kind);
        let (p, rows) = self.choose_precinct(&mut rng, |v| {
            living(v) && v.unit == 0 && v.flags & super::population::F_INSTITUTION == 0
        })?;
        let target = self.address_of(*rng.pick(&rows));
        let residents_before = rows
            .iter()
            .filter(|&&i| {
                let a = self.address_of(i);
                (a.street, a.house_number) == (target.street, target.house_number)
            })
            .count();
        let d = self.geo.precincts[p as usize].district;
        let operator = self.geo.draw_operator(&mut rng, d);
        let created = self.register_many(&mut rng, magnitude as usize, operator, |_, _| target);
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "address",
            scope_value: self.address_line(target),
            magnitude,
            rows: self.ids(&created),
            details: BTreeMap::from([
                (
                    "precinct".into(),
                    json!(self.geo.precincts[p as usize].code),
                ),
                ("residents_before".into(), json!(residents_before)),
                (
                    "operator".into(),
                    json!(self.geo.operators[operator as usize]),
                ),
            ]),
        })
    }

    pub(crate) fn id_reuse(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::IdReuse;
        let mut rng = self.rng(kind);
        let rows = self.candidates(|v| v.status == REMOVED);
        let chosen = rng.sample(&rows, magnitude as usize);
        let (lo, hi) = self.window.registration_days();
        let mut previous = BTreeMap::new();
        for &i in &chosen {
            let old = self.reg.voters[i].clone();
            previous.insert(
                voter_id(old.id),
                json!(format!(
                    "{} {} {}",
                    self.reg.given_name(&old),
                    self.reg.family_name(&old),
                    IsoDate(old.birth)
                )),
            );
            let day = working_day_in(&mut rng, lo, hi);
            let precinct = self.geo.precinct_table.draw(&mut rng) as u32;
            let address = draw_address(self.geo, &mut rng, precinct);
            let age = self.factory.draw_age(&mut rng);
            let sex = rng.below(2) as u8;
            let family = self.factory.surname(&mut rng);
            let person = self.factory.person(&mut rng, sex, age, family);
            let household = self.reg.next_household;
            self.reg.next_household += 1;
            let j = push_new(
                self.reg,
                self.factory,
                &mut rng,
                person,
                address,
                household,
                day,
            );
            let mut new = self.reg.voters.pop().expect("push_new appended a record");
            debug_assert_eq!(j, self.reg.voters.len());
            self.reg.next_id -= 1;
            new.id = old.id;
            self.reg.voters[i] = new;
        }
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "register",
            scope_value: "all".into(),
            magnitude,
            rows: self.ids(&chosen),
            details: BTreeMap::from([(
                "previous_person".into(),
                Value::Object(previous.into_iter().collect()),
            )]),
        })
    }

    pub(crate) fn shared_contact(&mut self, magnitude: f64) -> Vec<Planted> {
        let kind = AnomalyKind::SharedContact;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let operator = self.geo.draw_operator(&mut rng, d);
        let precincts = self.geo.districts[d as usize].precincts.clone();
        let mut out = Vec::new();
        for channel in ["phone", "email"] {
            let created = self.register_many(&mut rng, magnitude as usize, operator, |rng, geo| {
                let p = *rng.pick(&precincts);
                draw_address(geo, rng, p)
            });
            let value = if channel == "phone" {
                let phone = self.reg.new_phone();
                created
                    .iter()
                    .for_each(|&i| self.reg.voters[i].phone = phone);
                super::write::phone_number(phone).to_string()
            } else {
                let email = self.reg.new_email(super::population::Email {
                    given: 0,
                    family: super::population::SHARED_EMAIL,
                    n: rng.below(1000) as u32,
                });
                created
                    .iter()
                    .for_each(|&i| self.reg.voters[i].email = email);
                self.reg.emails[email as usize].render()
            };
            out.push(Planted {
                kind: kind.name(),
                benign: false,
                scope: channel,
                scope_value: value,
                magnitude,
                rows: self.ids(&created),
                details: BTreeMap::from([
                    (
                        "district".into(),
                        json!(self.geo.districts[d as usize].code),
                    ),
                    (
                        "operator".into(),
                        json!(self.geo.operators[operator as usize]),
                    ),
                ]),
            });
        }
        out
    }

    pub(crate) fn implausible_records(&mut self, magnitude: f64) -> Option<Planted> {
        const PROBLEMS: [&str; 7] = [
            "placeholder_birth_date_1900",
            "placeholder_birth_date_1800",
            "impossible_age",
            "registration_before_birth",
            "future_birth_date",
            "underage_active",
            "hostile_text",
        ];
        let kind = AnomalyKind::ImplausibleRecords;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let operator = self.geo.draw_operator(&mut rng, d);
        let precincts = self.geo.districts[d as usize].precincts.clone();
        let created = self.register_many(&mut rng, magnitude as usize, operator, |rng, geo| {
            let p = *rng.pick(&precincts);
            draw_address(geo, rng, p)
        });
        let mut problems = BTreeMap::new();
        let to = self.window.to;
        for (k, &i) in created.iter().enumerate() {
            let problem = PROBLEMS[k % PROBLEMS.len()];
            let registered = self.reg.voters[i].registered;
            match problem {
                "placeholder_birth_date_1900" => {
                    self.reg.voters[i].birth = days_from_civil(1900, 1, 1)
                }
                "placeholder_birth_date_1800" => {
                    self.reg.voters[i].birth = days_from_civil(1800, 1, 1)
                }
                "impossible_age" => {
                    self.reg.voters[i].birth =
                        days_from_civil(1884 + rng.below(20) as i32, 3, 1 + rng.below(28) as u32)
                }
                "registration_before_birth" => {
                    let v = &mut self.reg.voters[i];
                    v.registered = add_years(v.birth, -(1 + rng.below(5) as i32));
                }
                "future_birth_date" => self.reg.voters[i].birth = to + 30 + rng.below(3000) as i32,
                "underage_active" => {
                    self.reg.voters[i].birth = add_years(registered, -(12 + rng.below(4) as i32))
                }
                _ => {
                    let text = if k % 2 == 0 {
                        "=HYPERLINK(\"http://x.example\",\"click\")"
                    } else {
                        "<script>alert(1)</script>"
                    };
                    self.reg.override_mut(i).family = Some(text.to_string());
                }
            }
            problems.insert(voter_id(self.reg.voters[i].id), json!(problem));
        }
        Some(Planted {
            kind: kind.name(),
            benign: false,
            scope: "district",
            scope_value: self.geo.districts[d as usize].code.clone(),
            magnitude,
            rows: self.ids(&created),
            details: BTreeMap::from([(
                "problems".into(),
                Value::Object(problems.into_iter().collect()),
            )]),
        })
    }

    /// Re-keying: the old row disappears, the same person appears under a new id.
    pub(crate) fn rekey(&mut self, magnitude: f64) -> Option<Planted> {
        let kind = AnomalyKind::Rekey;
        let mut rng = self.rng(kind);
        let d = self.choose_district(&mut rng);
        let geo = self.geo;
        let rows = self.candidates(|v| v.status == ACTIVE && geo.district_of_street(v.street) == d);
        let chosen = rng.sample(&rows, magnitude as usize);
        let operator = self.geo.draw_operator(&mut rng, d);
        let first = self.first_day(&mut rng, 2);
        let mut pairs = BTreeMap::new();
        let mut new_rows = Vec::new();
        let mut old_ids: Vec<u32> = Vec::new();
        for &i in &chosen {
            let mut v = self.reg.voters[i].clone();
            if v.extra != NO_OVERRIDE {
                let o = self.reg.overrides[v.extra as usize].clone();
                v.extra = self.reg.overrides.len() as u32;
                self.reg.overrides.push(o);
            }
            old_ids.push(v.id);
            v.id = self.reg.next_id;
            self.reg.next_id += 1;
            v.changed_at = to_seconds(self.operator_stamp(&mut rng, first, 2));
            v.changed_by = operator;
            pairs.insert(voter_id(self.reg.voters[i].id), json!(voter_id(v.id)));
            self.reg.voters.push(v);
            new_rows.push(self.reg.voters.len() - 1);
        }
        let ids = self.ids(&new_rows);
        old_ids.sort_unstable();
        self.reg
            .voters
            .retain(|v| old_ids.binary_search(&v.id).is_err());
        Some(Planted {
            kind: kind.name(),
            benign: true,
            scope: "district",
            scope_value: self.geo.districts[d as usize].code.clone(),
            magnitude,
            rows: ids,
            details: BTreeMap::from([
                (
                    "previous_voter_ids".into(),
                    json!(old_ids.iter().map(|&id| voter_id(id)).collect::<Vec<_>>()),
                ),
                (
                    "new_voter_id_of".into(),
                    Value::Object(pairs.into_iter().collect()),
                ),
            ]),
        })
    }
}
