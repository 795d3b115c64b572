//! The planted anomalies: each kind where the truth says, with its magnitude and signature.

use super::*;

#[test]
fn every_default_anomaly_is_planted_with_its_magnitude() {
    let s = sample();
    assert_eq!(
        s.truth["not_planted"].as_array().unwrap().len(),
        0,
        "{}",
        s.truth["not_planted"]
    );
    for kind in AnomalyKind::ALL {
        let events = s.events(kind.name());
        assert!(!events.is_empty(), "{kind} not planted");
        for e in events {
            assert_eq!(e["magnitude"].as_f64(), Some(kind.default_magnitude()));
            assert_eq!(e["benign"].as_bool(), Some(kind.is_benign()), "{kind}");
            if !kind.is_fraction() {
                assert_eq!(
                    e["count"].as_u64(),
                    Some(kind.default_magnitude() as u64),
                    "{kind}"
                );
            }
        }
    }
    // Fuzzy duplicates: the fraction of the initial voters, in all.
    let expected = (AnomalyKind::FuzzyDuplicates.default_magnitude() * 20_000.0).round() as usize;
    assert_eq!(s.truth["duplicates"].as_array().unwrap().len(), expected);
    assert_eq!(s.events("list-maintenance").len(), 1);
    assert_eq!(s.events("redistricting").len(), 1);
}

/// Voters of `ids` with `pred` true in `snapshot`.
fn count_where(snapshot: &Snapshot, ids: &[String], pred: impl Fn(&[String]) -> bool) -> usize {
    ids.iter()
        .filter(|id| snapshot.get(id).is_some_and(|r| pred(r)))
        .count()
}

#[test]
fn targeted_purge_removes_the_requested_share_of_one_precinct() {
    let s = sample();
    let e = s.event("targeted-purge");
    let (from, to) = (
        s.at(e["snapshot_from"].as_str().unwrap()),
        s.at(e["snapshot_to"].as_str().unwrap()),
    );
    let precinct = e["scope_value"].as_str().unwrap();
    let purged = ids(&e["voter_ids"]);
    let active_before = from
        .rows
        .values()
        .filter(|r| value(r, Field::Precinct) == precinct && value(r, Field::Status) == "active")
        .count();
    let share = purged.len() as f64 / active_before as f64;
    // Requested 0.6 of the untouched active voters; routine churn touches a few percent.
    assert!(
        (0.54..=0.61).contains(&share),
        "purged {} of {active_before}",
        purged.len()
    );
    assert_eq!(
        count_where(to, &purged, |r| value(r, Field::Status) == "removed"),
        purged.len()
    );
    assert_eq!(
        count_where(from, &purged, |r| value(r, Field::Status) == "active"),
        purged.len()
    );
    // Peers lose only a few percent: the purge stands out.
    let removed_elsewhere = to
        .rows
        .values()
        .filter(|r| value(r, Field::Precinct) != precinct && value(r, Field::Status) == "removed")
        .filter(|r| {
            from.get(value(r, Field::VoterId))
                .is_some_and(|f| value(f, Field::Status) == "active")
        })
        .count();
    assert!((removed_elsewhere as f64) / (from.rows.len() as f64) < 0.05);
}

#[test]
fn skewed_purge_hits_one_party_in_the_quiet_period() {
    let s = sample();
    let e = s.event("skewed-purge");
    let (from, to) = (
        s.at(e["snapshot_from"].as_str().unwrap()),
        s.at(e["snapshot_to"].as_str().unwrap()),
    );
    let party = e["details"]["party"].as_str().unwrap();
    let district = e["scope_value"].as_str().unwrap();
    let purged = ids(&e["voter_ids"]);
    let party_active = from
        .rows
        .values()
        .filter(|r| value(r, Field::District) == district && value(r, Field::Status) == "active")
        .filter(|r| value(r, Field::Party) == party)
        .count();
    let share = purged.len() as f64 / party_active as f64;
    assert!(
        (0.22..=0.26).contains(&share),
        "{} of {party_active}",
        purged.len()
    );
    assert_eq!(
        count_where(to, &purged, |r| value(r, Field::Party) == party
            && value(r, Field::Status) == "removed"),
        purged.len()
    );
    let quiet_start = s.truth["calendar"]["quiet_period_start"].as_str().unwrap();
    assert_eq!(e["details"]["in_quiet_period"], true);
    assert_eq!(
        count_where(to, &purged, |r| &value(r, Field::ChangedAt)[..10]
            >= quiet_start),
        purged.len()
    );
}

#[test]
fn cluster_anomalies_put_the_requested_number_of_records_in_one_place() {
    let s = sample();
    let redirect = s.event("address-redirect");
    let to = s.at(redirect["snapshot_to"].as_str().unwrap());
    let address = redirect["scope_value"].as_str().unwrap();
    let listed = ids(&redirect["voter_ids"]);
    assert_eq!(
        count_where(to, &listed, |r| value(r, Field::AddressLine) == address),
        40
    );

    let bulk = s.event("bulk-registration");
    let (from, to) = (
        s.at(bulk["snapshot_from"].as_str().unwrap()),
        s.at(bulk["snapshot_to"].as_str().unwrap()),
    );
    let listed = ids(&bulk["voter_ids"]);
    assert!(
        listed.iter().all(|id| from.get(id).is_none()),
        "bulk registrations are new"
    );
    let at_address = to
        .rows
        .values()
        .filter(|r| value(r, Field::AddressLine) == bulk["scope_value"].as_str().unwrap())
        .count();
    assert!(at_address >= 45, "{at_address} at the bulk address");

    for e in s.events("shared-contact") {
        let to = s.at(e["snapshot_to"].as_str().unwrap());
        let field = if e["scope"] == "phone" {
            Field::Phone
        } else {
            Field::Email
        };
        let sharing = to
            .rows
            .values()
            .filter(|r| value(r, field) == e["scope_value"].as_str().unwrap())
            .count();
        assert_eq!(sharing, 25, "{}", e["scope"]);
    }
}

fn seconds_of_day(ts: &str) -> u32 {
    let h: u32 = ts[11..13].parse().unwrap();
    let m: u32 = ts[14..16].parse().unwrap();
    h * 3600 + m * 60 + ts[17..19].parse::<u32>().unwrap()
}

#[test]
fn audit_trail_anomalies_carry_their_signature() {
    let s = sample();
    let night = s.event("night-burst");
    let to = s.at(night["snapshot_to"].as_str().unwrap());
    let operator = night["scope_value"].as_str().unwrap();
    let listed = ids(&night["voter_ids"]);
    let at_night = count_where(to, &listed, |r| {
        value(r, Field::ChangedBy) == operator
            && (1800..=5 * 3600).contains(&seconds_of_day(value(r, Field::ChangedAt)))
    });
    assert_eq!(at_night, 120);

    let freeze = s.truth["calendar"]["roll_freeze"].as_str().unwrap();
    let post = s.event("post-freeze-edits");
    let to = s.at(post["snapshot_to"].as_str().unwrap());
    let listed = ids(&post["voter_ids"]);
    assert_eq!(
        count_where(to, &listed, |r| &value(r, Field::ChangedAt)[..10] > freeze),
        60
    );
    // Nothing else is edited after the freeze.
    let late = to
        .rows
        .values()
        .filter(|r| {
            !value(r, Field::ChangedAt).is_empty() && &value(r, Field::ChangedAt)[..10] > freeze
        })
        .count();
    assert_eq!(late, 60);

    // Routine edits by clerks happen on weekdays in office hours.
    let burst: HashSet<&String> = listed.iter().collect();
    let night_ids: HashSet<String> = ids(&night["voter_ids"]).into_iter().collect();
    for r in s.at(night["snapshot_from"].as_str().unwrap()).rows.values() {
        let (ts, by) = (value(r, Field::ChangedAt), value(r, Field::ChangedBy));
        if ts.is_empty() || by == "SYSTEM" || burst.contains(&r[0]) || night_ids.contains(&r[0]) {
            continue;
        }
        let day = parse_iso_date(&ts[..10]).unwrap();
        assert!((day + 3).rem_euclid(7) < 5, "weekend edit {ts}");
        assert!(
            (8 * 3600..18 * 3600).contains(&seconds_of_day(ts)),
            "edit at {ts}"
        );
    }
}

#[test]
fn status_and_identity_anomalies() {
    let s = sample();
    let react = s.event("mass-reactivation");
    let (from, to) = (
        s.at(react["snapshot_from"].as_str().unwrap()),
        s.at(react["snapshot_to"].as_str().unwrap()),
    );
    let listed = ids(&react["voter_ids"]);
    assert_eq!(
        count_where(from, &listed, |r| value(r, Field::Status) == "removed"),
        80
    );
    assert_eq!(
        count_where(to, &listed, |r| value(r, Field::Status) == "active"),
        80
    );

    let reuse = s.event("id-reuse");
    let (from, to) = (
        s.at(reuse["snapshot_from"].as_str().unwrap()),
        s.at(reuse["snapshot_to"].as_str().unwrap()),
    );
    for id in ids(&reuse["voter_ids"]) {
        let (a, b) = (from.get(&id).unwrap(), to.get(&id).unwrap());
        assert_eq!(value(a, Field::Status), "removed");
        assert_ne!(
            (
                value(a, Field::GivenName),
                value(a, Field::FamilyName),
                value(a, Field::BirthDate)
            ),
            (
                value(b, Field::GivenName),
                value(b, Field::FamilyName),
                value(b, Field::BirthDate)
            ),
            "{id} holds a different person"
        );
    }

    let party = s.event("mass-party-switch");
    let (from, to) = (
        s.at(party["snapshot_from"].as_str().unwrap()),
        s.at(party["snapshot_to"].as_str().unwrap()),
    );
    let target = party["details"]["party"].as_str().unwrap();
    let listed = ids(&party["voter_ids"]);
    assert_eq!(
        count_where(from, &listed, |r| value(r, Field::Party) != target),
        listed.len()
    );
    assert_eq!(
        count_where(to, &listed, |r| value(r, Field::Party) == target),
        listed.len()
    );
    assert!(listed.len() >= 100, "a mass switch of {}", listed.len());

    let edits = s.event("birth-date-edits");
    let (from, to) = (
        s.at(edits["snapshot_from"].as_str().unwrap()),
        s.at(edits["snapshot_to"].as_str().unwrap()),
    );
    for id in ids(&edits["voter_ids"]) {
        let (a, b) = (
            value(&from.rows[&id], Field::BirthDate),
            value(&to.rows[&id], Field::BirthDate),
        );
        assert_ne!(a[..4], b[..4], "{id}: the year changes");
    }

    let implausible = s.event("implausible-records");
    let to = s.at(implausible["snapshot_to"].as_str().unwrap());
    let to_day = parse_iso_date(implausible["snapshot_to"].as_str().unwrap()).unwrap();
    for (id, problem) in implausible["details"]["problems"].as_object().unwrap() {
        let r = to.get(id).unwrap();
        let birth = parse_iso_date(value(r, Field::BirthDate));
        let registered = parse_iso_date(value(r, Field::RegistrationDate)).unwrap();
        let ok = match problem.as_str().unwrap() {
            "placeholder_birth_date_1900" => value(r, Field::BirthDate) == "1900-01-01",
            "placeholder_birth_date_1800" => value(r, Field::BirthDate) == "1800-01-01",
            "impossible_age" => birth.is_some_and(|b| to_day - b > 120 * 365),
            "registration_before_birth" => birth.is_some_and(|b| registered < b),
            "future_birth_date" => birth.is_some_and(|b| b > to_day),
            "underage_active" => {
                birth.is_some_and(|b| to_day - b < 17 * 365) && value(r, Field::Status) == "active"
            }
            "hostile_text" => value(r, Field::FamilyName).starts_with(['=', '<']),
            other => panic!("undocumented problem {other}"),
        };
        assert!(ok, "{id}: {problem} not visible in {r:?}");
    }
}

#[test]
fn benign_mass_events_are_uniform_and_explainable() {
    let s = sample();
    let e = s.event("redistricting");
    let (from, to) = (
        s.at(e["snapshot_from"].as_str().unwrap()),
        s.at(e["snapshot_to"].as_str().unwrap()),
    );
    let codes = e["details"]["precinct_codes"].as_object().unwrap();
    for id in ids(&e["voter_ids"]) {
        if let (Some(a), Some(b)) = (from.get(&id), to.get(&id)) {
            if value(a, Field::AddressLine) == value(b, Field::AddressLine) {
                assert_eq!(
                    codes[value(a, Field::Precinct)],
                    value(b, Field::Precinct),
                    "{id}"
                );
            }
        }
    }
    // List maintenance removes long-inactive voters at the same rate in every district:
    // each district's share is within sampling noise of the overall share.
    let lm = s.event("list-maintenance");
    let to = s.at(lm["snapshot_to"].as_str().unwrap());
    let mut per_district: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids(&lm["voter_ids"]) {
        *per_district
            .entry(value(&to.rows[&id], Field::District))
            .or_default() += 1;
        assert_eq!(value(&to.rows[&id], Field::StatusReason), "inactivity");
    }
    assert!(per_district.len() >= 5);
}
