//! Built-in layouts of real exports, each against a synthetic file written from its published
//! layout (no real person in it): one submodule per layout, each with the layout's columns
//! transcribed from its document again (not from the profile), so that a profile that
//! disagrees with its document fails. Below them, the profile features these layouts need.

use rollaudit::load::{load_bytes, Loaded, NoProgress};
use rollaudit::model::Field;
use rollaudit::profile::Profile;

// `fl_voter_extract`: Florida's statewide voter extract, tab-separated, no header.
mod florida;
// `mi_qvf`: Michigan's Qualified Voter File, fixed width.
mod michigan;
// `nc_vr_snapshot`: North Carolina's VR snapshot series, both vintages.
mod north_carolina;
// `ny_voter_list`: New York's NYSVoter list, quoted CSV, no header.
mod new_york;
// `oh_swvf`: Ohio's Statewide Voter File, CSV with a header.
mod ohio;

/// Loads `bytes` (as a file called `name`) with the built-in profile `profile`.
fn load_builtin(profile: &str, bytes: Vec<u8>, name: &str) -> Loaded {
    let profile = Profile::builtin(profile).expect("built in");
    load_bytes(bytes, std::path::Path::new(name), &profile, &NoProgress).expect("loads")
}

/// A text field's values in row order (rows are sorted by `voter_id`).
fn texts(loaded: &Loaded, field: Field) -> Vec<Option<String>> {
    loaded
        .snapshot
        .texts(field)
        .expect("the field is loaded")
        .into_iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

/// Every canonical value of voter `id` as (field, text), in canonical order, missing values
/// left out; dates are ISO, years numbers.
fn record(loaded: &Loaded, id: &str) -> Vec<(&'static str, String)> {
    let snapshot = &loaded.snapshot;
    let row = snapshot
        .voter_ids()
        .iter()
        .position(|v| v == Some(id))
        .unwrap_or_else(|| panic!("voter {id} is loaded"));
    Field::ALL
        .iter()
        .filter_map(|&f| {
            let value = snapshot.column(f)?.text(row)?;
            Some((f.name(), value.into_owned()))
        })
        .collect()
}

/// (line, reason kind) of every rejected row, in source order.
fn rejects(loaded: &Loaded) -> Vec<(u64, &'static str)> {
    loaded
        .report
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.kind()))
        .collect()
}

/// A join takes header names, positions in a headerless file, or spans in a fixed-width one,
/// each only where such columns can be found, and only into a text field.
#[test]
fn a_join_takes_names_positions_or_spans_as_the_layout_finds_columns() {
    let profile = |header: bool, columns: &str| {
        Profile::parse(
            &format!("name = \"x\"\nheader = {header}\n[columns]\n{columns}\n"),
            "x.toml",
        )
    };
    assert!(profile(
        true,
        "voter_id = \"id\"\naddress_line = { join = [\"a\", \"b\"] }"
    )
    .is_ok());
    assert!(profile(false, "voter_id = 1\naddress_line = { join = [3, 2] }").is_ok());
    let spans = "voter_id = { start = 1, length = 4 }\n\
                 address_line = { join = [{ start = 5, length = 2 }, { start = 7, length = 9 }] }";
    assert!(profile(false, spans).expect("valid").is_fixed_width());
    let refused = [
        (true, "voter_id = \"id\"\naddress_line = { join = [] }", "empty list"),
        (true, "voter_id = \"id\"\nbirth_date = { join = [\"y\", \"m\"] }", "only text fields"),
        (false, "voter_id = 1\naddress_line = { join = [\"a\", 2] }", "needs column positions"),
        (false, "voter_id = 1\naddress_line = { join = [0, 2] }", "positions start at 1"),
        (
            false,
            "voter_id = { start = 1, length = 4 }\naddress_line = { join = [{ start = 5, length = 2 }, 9] }",
            "fixed-width",
        ),
        (
            false,
            "voter_id = 1\naddress_line = { join = [{ start = 5, length = 2 }] }",
            "fixed-width",
        ),
    ];
    for (header, columns, why) in refused {
        let err = profile(header, columns).unwrap_err();
        assert!(err.to_string().contains(why), "{columns}: {err}");
        assert!(err.to_string().contains("columns"), "{columns}: {err}");
    }
}

/// A headerless file's address joined by position, and a joined position past the end of
/// the rows: an error naming the field and the width, as for a single position.
#[test]
fn joined_positions_load_and_one_past_the_rows_is_an_error() {
    let profile = |join: &str| {
        Profile::parse(
            &format!("name = \"x\"\nheader = false\n[columns]\nvoter_id = 1\naddress_line = {{ join = {join} }}\n"),
            "x.toml",
        )
        .expect("a valid profile")
    };
    let load = |join: &str| {
        load_bytes(
            b"V1,12,,OAK ST\n".to_vec(),
            std::path::Path::new("parts.csv"),
            &profile(join),
            &NoProgress,
        )
    };
    let loaded = load("[2, 3, 4]").expect("loads");
    assert_eq!(
        record(&loaded, "V1"),
        vec![
            ("voter_id", "V1".to_string()),
            ("address_line", "12 OAK ST".into())
        ]
    );
    let text = load("[2, 7]")
        .err()
        .expect("column 7 is not there")
        .to_string();
    assert!(
        text.contains("address_line") && text.contains("column 7"),
        "{text}"
    );
    assert!(text.contains("4 columns"), "{text}");
}

#[test]
fn a_birth_year_from_an_age_is_the_dates_year_minus_the_age() {
    let profile = Profile::parse(
        "name = \"x\"\nheader = true\nnull_markers = [\"\", \"NA\"]\n\
         [columns]\nvoter_id = \"id\"\nbirth_year = { age = \"age\", on = \"taken\" }\n",
        "x.toml",
    )
    .expect("a valid profile");
    let text =
        "id,age,taken\n1,30,2024-06-01\n2,,2024-06-01\n3,NA,2024-06-01\n4,thirty,2024-06-01\n\
                5,151,2024-06-01\n6,0,2024-06-31\n7,0,2024-06-30\n";
    let loaded = load_bytes(
        text.as_bytes().to_vec(),
        std::path::Path::new("ages.csv"),
        &profile,
        &NoProgress,
    )
    .expect("loads");
    let years = loaded.snapshot.column(Field::BirthYear).expect("derived");
    let got: Vec<Option<i32>> = (0..loaded.snapshot.rows()).map(|r| years.day(r)).collect();
    // Rows 1, 2, 3 and 7 load: 2024 - 30, missing, missing, 2024 - 0.
    assert_eq!(got, vec![Some(1994), None, None, Some(2024)]);
    assert_eq!(
        rejects(&loaded),
        vec![(5, "bad_age"), (6, "bad_age"), (7, "bad_date")]
    );
    let err = Profile::parse(
        "name = \"x\"\n[columns]\nvoter_id = \"id\"\nbirth_date = { age = \"a\", on = \"b\" }\n",
        "x.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("only birth_year"), "{err}");
}

/// A fixed-width layout: columns by character position, a Latin-1 name that must not shift
/// the columns after it, a short line (trailing blanks dropped), a blank line, CRLF, a bad
/// date rejected with its line, and a repeated id rejected with the first one's line.
#[test]
fn fixed_width_lines_are_cut_by_character_position() {
    let profile = Profile::parse(
        "name = \"fixed\"\nheader = false\nencoding = \"latin-1\"\ndate_format = \"%Y%m%d\"\n\
         [columns]\n\
         voter_id = { start = 1, length = 6 }\n\
         family_name = { start = 7, length = 10 }\n\
         given_name = { start = 17, length = 8 }\n\
         birth_date = { start = 25, length = 8 }\n\
         postcode = { start = 33, length = 5 }\n",
        "fixed.toml",
    )
    .expect("a valid profile");
    assert!(profile.is_fixed_width());
    let lines = [
        "V00001GARCÍA    JOSÉ    1980030127215",
        "V00002SMITH     ANN     19751231",
        "",
        "V00003JONES     BOB     19751331",
        "V00001GARCIA    JOSE    1980030127215",
    ];
    let text = lines.join("\r\n") + "\r\n";
    let (latin1, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    let loaded = load_bytes(
        latin1.into_owned(),
        std::path::Path::new("fixed.txt"),
        &profile,
        &NoProgress,
    )
    .expect("loads");
    assert_eq!(loaded.report.rows_read, 4, "the blank line is not a row");
    assert_eq!(loaded.report.rows_loaded, 2);
    assert_eq!(
        rejects(&loaded),
        vec![(4, "bad_date"), (5, "duplicate_voter_id")]
    );
    assert_eq!(
        texts(&loaded, Field::FamilyName),
        vec![Some("GARCÍA".to_string()), Some("SMITH".to_string())]
    );
    assert_eq!(
        texts(&loaded, Field::GivenName),
        vec![Some("JOSÉ".to_string()), Some("ANN".to_string())]
    );
    assert_eq!(
        texts(&loaded, Field::Postcode),
        vec![Some("27215".to_string()), None],
        "the short line's missing postcode is empty, not a reject"
    );
    assert_eq!(
        loaded
            .snapshot
            .column(Field::BirthDate)
            .and_then(|c| c.day(0)),
        rollaudit::dates::parse_iso_date("1980-03-01")
    );
    // Spans and names cannot be mixed in one profile.
    let err = Profile::parse(
        "name = \"x\"\nheader = false\n[columns]\nvoter_id = { start = 1, length = 6 }\nfamily_name = 2\n",
        "x.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("fixed-width"), "{err}");
}
