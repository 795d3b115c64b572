//! The population the generator draws: duplicates and look-alikes, name and rate
//! distributions, the calendar, the output formats, the committed sample.

use super::*;

#[test]
fn duplicates_differ_from_their_originals_in_the_listed_ways() {
    let s = sample();
    let mut seen = HashSet::new();
    for d in s.truth["duplicates"].as_array().unwrap() {
        let at = s.at(d["snapshot"].as_str().unwrap());
        let o = at.get(d["original_voter_id"].as_str().unwrap()).unwrap();
        let c = at.get(d["duplicate_voter_id"].as_str().unwrap()).unwrap();
        let listed: HashSet<&str> = d["corruptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        seen.extend(listed.iter().map(|s| s.to_string()));
        let has = |k: &str| listed.contains(k);
        let (og, of, cg, cf) = (
            value(o, Field::GivenName),
            value(o, Field::FamilyName),
            value(c, Field::GivenName),
            value(c, Field::FamilyName),
        );
        if has("swapped_names") {
            assert_eq!((cg, cf), (of, og));
        } else {
            let given_changed = [
                "typo_given_name",
                "ocr_given_name",
                "phonetic_given_name",
                "nickname",
            ]
            .iter()
            .any(|k| has(k));
            assert_eq!(og != cg, given_changed, "{d}");
            let family_changed = [
                "typo_family_name",
                "ocr_family_name",
                "phonetic_family_name",
            ]
            .iter()
            .any(|k| has(k));
            assert_eq!(of != cf, family_changed, "{d}");
            if has("typo_given_name") || has("ocr_given_name") {
                assert!(strsim::levenshtein(og, cg) <= 2, "{og} -> {cg}");
            }
        }
        let (ob, cb) = (value(o, Field::BirthDate), value(c, Field::BirthDate));
        if has("day_month_transposed") {
            let (y, m, day) = civil_from_days(parse_iso_date(ob).unwrap());
            assert_eq!(parse_iso_date(cb), Some(days_from_civil(y, day, m)));
        } else if has("missing_birth_date") {
            assert!(cb.is_empty() && !ob.is_empty());
        } else {
            assert_eq!(ob, cb, "{d}");
        }
        assert_eq!(
            value(c, Field::MiddleName).is_empty() && !value(o, Field::MiddleName).is_empty(),
            has("missing_middle_name"),
            "{d}"
        );
        assert_eq!(
            value(c, Field::NationalId).is_empty() && !value(o, Field::NationalId).is_empty(),
            has("missing_national_id"),
            "{d}"
        );
        let same = value(o, Field::AddressLine) == value(c, Field::AddressLine)
            && value(o, Field::Precinct) == value(c, Field::Precinct);
        assert_eq!(d["same_address"].as_bool(), Some(!has("moved")));
        if !has("moved") {
            assert!(same, "{d}");
        }
        assert_eq!(value(o, Field::Sex), value(c, Field::Sex));
    }
    for kind in [
        "nickname",
        "swapped_names",
        "day_month_transposed",
        "typo_given_name",
        "ocr_family_name",
        "phonetic_given_name",
        "moved",
        "missing_national_id",
    ] {
        assert!(seen.contains(kind), "no duplicate with {kind}");
    }
}

#[test]
fn look_alikes_are_distinct_people_sharing_what_families_share() {
    let s = sample();
    let first = s.at(s.truth["snapshots"][0]["date"].as_str().unwrap());
    let looks = &s.truth["look_alikes"];
    let twins = looks["twins"].as_array().unwrap();
    assert!(!twins.is_empty());
    for pair in twins {
        let p = ids(pair);
        let (a, b) = (&first.rows[&p[0]], &first.rows[&p[1]]);
        assert_eq!(value(a, Field::BirthDate), value(b, Field::BirthDate));
        assert_eq!(value(a, Field::AddressLine), value(b, Field::AddressLine));
        assert_eq!(value(a, Field::FamilyName), value(b, Field::FamilyName));
    }
    let pairs = looks["junior_senior"].as_array().unwrap();
    assert!(!pairs.is_empty());
    for p in pairs {
        let (j, s) = (
            &first.rows[p["junior"].as_str().unwrap()],
            &first.rows[p["senior"].as_str().unwrap()],
        );
        assert_eq!(
            (value(j, Field::NameSuffix), value(s, Field::NameSuffix)),
            ("JR", "SR")
        );
        assert_eq!(value(j, Field::GivenName), value(s, Field::GivenName));
        assert_eq!(value(j, Field::AddressLine), value(s, Field::AddressLine));
        assert_ne!(value(j, Field::BirthDate), value(s, Field::BirthDate));
    }
    for r in looks["large_residences"].as_array().unwrap() {
        let n = first
            .rows
            .values()
            .filter(|row| value(row, Field::AddressLine) == r["address_line"].as_str().unwrap())
            .count();
        assert!(n >= r["voters"].as_u64().unwrap() as usize && n >= 40);
    }
}

#[test]
fn surnames_are_heavy_tailed() {
    let s = sample();
    let first = s.at(s.truth["snapshots"][0]["date"].as_str().unwrap());
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in first.rows.values() {
        *counts.entry(value(r, Field::FamilyName)).or_default() += 1;
    }
    let mut freq: Vec<usize> = counts.values().copied().collect();
    freq.sort_unstable_by(|a, b| b.cmp(a));
    let total: usize = freq.iter().sum();
    let top = freq[..freq.len().div_ceil(100)].iter().sum::<usize>() as f64 / total as f64;
    // A uniform distribution would give the most common 1% of surnames 1% of the voters; the
    // Census head (SMITH, JOHNSON, ...) gives them over 15 times that.
    assert!(top > 0.15, "top 1% of surnames cover {top:.3}");
    // The most common surname holds ~0.5-1.5% (SMITH: 0.83% of the US).
    let share = freq[0] as f64 / total as f64;
    assert!((0.004..0.02).contains(&share), "top surname share {share}");
    // Rank-frequency slope on a log-log scale, ranks 10 to 300: Zipf-like, about -1.
    let points: Vec<(f64, f64)> = (10..300)
        .map(|r| (((r + 1) as f64).ln(), (freq[r] as f64).ln()))
        .collect();
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let slope = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
        / points.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    assert!((-1.6..-0.4).contains(&slope), "log-log slope {slope}");
    // Same name and birth date pairs occur by coincidence (Goel et al.).
    let mut name_dob: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for r in first.rows.values() {
        *name_dob
            .entry((
                value(r, Field::GivenName),
                value(r, Field::FamilyName),
                value(r, Field::BirthYear),
            ))
            .or_default() += 1;
    }
    assert!(name_dob.values().any(|&c| c > 1), "common names collide");
}

#[test]
fn precinct_removal_rates_are_overdispersed() {
    let s = Series::generate(|dir| GenerateConfig {
        anomalies: AnomalySelection::none(),
        ..GenerateConfig::new(60_000, 2, 180, 11, dir)
    });
    let dates: Vec<&String> = s.snapshots.keys().collect();
    let (from, to) = (&s.snapshots[dates[0]], &s.snapshots[dates[1]]);
    // Removals and moves of voters living at the first snapshot, per precinct.
    let mut per_precinct: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (id, r) in &from.rows {
        if !["active", "inactive"].contains(&value(r, Field::Status)) {
            continue;
        }
        let e = per_precinct.entry(value(r, Field::Precinct)).or_default();
        e.0 += 1.0;
        let changed = to.get(id).is_none_or(|t| {
            value(t, Field::Status) == "removed"
                || value(t, Field::AddressLine) != value(r, Field::AddressLine)
        });
        if changed {
            e.1 += 1.0;
        }
    }
    let (n, x): (f64, f64) = per_precinct
        .values()
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let p = x / n;
    // Pearson dispersion: 1 for binomial counts, well above 1 when rates vary between areas.
    let chi2: f64 = per_precinct
        .values()
        .map(|&(ni, xi)| (xi - ni * p).powi(2) / (ni * p * (1.0 - p)))
        .sum();
    let dispersion = chi2 / (per_precinct.len() - 1) as f64;
    assert!(p > 0.02 && p < 0.15, "half-year removal-or-move rate {p}");
    assert!(
        dispersion > 2.0,
        "dispersion {dispersion} over {} precincts",
        per_precinct.len()
    );
    // With anomalies off, only the benign events are in the truth.
    let kinds: HashSet<&str> = s.truth["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, HashSet::from(["list-maintenance", "redistricting"]));
}

#[test]
fn churn_rates_are_plausible() {
    let s = sample();
    for interval in s.truth["intervals"].as_array().unwrap() {
        let rows = s.at(interval["from"].as_str().unwrap()).rows.len() as f64;
        let per_year = |k: &str| interval["churn"][k].as_f64().unwrap() / rows * 365.25 / 90.0;
        // DOMAIN.md: deaths ~0.9%/yr, moves 8-10%/yr, party switches 1-2%/yr.
        assert!((0.004..0.016).contains(&per_year("deaths")), "{interval}");
        let moves = per_year("moves_out")
            + per_year("moves_within_precinct")
            + per_year("moves_between_precincts");
        assert!((0.06..0.13).contains(&moves), "moves {moves}");
        assert!(
            (0.008..0.025).contains(&per_year("party_switches")),
            "{interval}"
        );
    }
}

#[test]
fn election_calendar_brackets_the_last_interval() {
    let s = sample();
    let text = std::fs::read_to_string(s.dir.path().join("election.toml")).unwrap();
    let cal: toml::Value = toml::from_str(&text).unwrap();
    let date = |k: &str| parse_iso_date(cal[k].as_str().unwrap()).unwrap();
    let dates: Vec<i32> = s
        .snapshots
        .keys()
        .map(|d| parse_iso_date(d).unwrap())
        .collect();
    let (prev, last) = (dates[dates.len() - 2], dates[dates.len() - 1]);
    assert!(
        prev < date("registration_cutoff") && date("registration_cutoff") < date("roll_freeze")
    );
    assert!(date("roll_freeze") <= last && date("election_day") > last);
    let quiet = cal["quiet_period_days"].as_integer().unwrap() as i32;
    assert!(
        date("election_day") - quiet < last,
        "the quiet period overlaps the last interval"
    );
    let phases = cal["phases"].as_array().unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "registration",
            "claims_and_objections",
            "final_roll",
            "election_day"
        ]
    );
}

#[test]
fn one_snapshot_plants_what_fits_and_says_what_does_not() {
    let s = Series::generate(|dir| GenerateConfig::new(2_000, 1, 90, 3, dir));
    assert_eq!(s.snapshots.len(), 1);
    let not_planted = s.truth["not_planted"].as_array().unwrap();
    assert!(not_planted.iter().any(|n| n["kind"] == "targeted-purge"));
    assert_eq!(s.truth["duplicates"].as_array().unwrap().len(), 20);
    assert_eq!(s.events("implausible-records").len(), 1);
}

#[test]
fn parquet_snapshots_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let config = GenerateConfig {
        format: OutputFormat::Parquet,
        ..GenerateConfig::new(1_000, 2, 30, 5, dir.path())
    };
    let summary = generate(&config).unwrap();
    let loaded = rollaudit::load::load_path(
        &summary.files[1],
        &rollaudit::profile::Profile::canonical(),
        &rollaudit::load::NoProgress,
    )
    .expect("the Parquet snapshot loads");
    assert_eq!(
        loaded.report.rows_loaded as usize,
        summary.rows_per_snapshot[1]
    );
}

#[test]
fn interval_and_format_arguments_parse() {
    assert_eq!(parse_interval("90d"), Ok(90));
    assert_eq!(parse_interval("12w"), Ok(84));
    assert!(parse_interval("-3d").is_err());
    assert_eq!("csv.gz".parse::<OutputFormat>(), Ok(OutputFormat::CsvGz));
    assert!("none".parse::<AnomalySelection>().unwrap().kinds.is_empty());
}

#[test]
fn committed_sample_data_is_reproducible() {
    let committed = crate::util::repo().join("sample-data");
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&sample_config(dir.path())).unwrap();
    for file in &summary.files {
        let name = file.file_name().unwrap();
        let expected = std::fs::read(committed.join(name)).unwrap_or_else(|e| {
            panic!("sample-data/{name:?} is not committed ({e}); regenerate it")
        });
        assert!(std::fs::read(file).unwrap() == expected, "sample-data/{name:?} differs from a fresh generation: regenerate it with the command in sample-data/README.md");
    }
}

#[test]
fn the_binary_runs_the_documented_sample_command() {
    let dir = Dir::new();
    let args: Vec<&str> = SAMPLE_COMMAND.split_whitespace().skip(1).collect();
    assert_eq!(args.last(), Some(&"sample-data"));
    dir.run(&args).expect_code(0);
    let library = tempfile::tempdir().unwrap();
    let summary = generate(&sample_config(library.path())).unwrap();
    for file in &summary.files {
        let name = file.file_name().unwrap();
        let by_binary = std::fs::read(dir.path("sample-data").join(name)).unwrap();
        assert!(
            by_binary == std::fs::read(file).unwrap(),
            "{name:?}: binary and library differ"
        );
    }
}

#[test]
fn bad_generate_arguments_are_refused() {
    let dir = Dir::new();
    let unknown = ["generate", "--anomalies", "purge", "-o", "out"];
    let run = dir.run(&unknown);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown anomaly kind \"purge\""),
        "{}",
        run.stderr
    );
    let short = [
        "generate",
        "--voters",
        "500",
        "--interval",
        "3d",
        "-o",
        "out",
    ];
    let run = dir.run(&short);
    run.expect_one_line_error();
    assert!(run.stderr.contains("interval"), "{}", run.stderr);
}
