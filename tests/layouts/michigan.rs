//! `mi_qvf`: Michigan's Qualified Voter File in its fixed-width vintage
//! (`entire_state_v.lst`), written from the Bureau of Elections' "Voter File Layout" as
//! transcribed in public repositories (the profile says which): columns by character
//! position, birth year only, MMDDYYYY registration dates, the address in parts, a Latin-1
//! name that must not shift the columns after it, CRLF.

use super::{load_builtin, record, rejects};

/// (name, first character, length) of each column of the voter file, in order.
const MI_COLUMNS: [(&str, usize, usize); 38] = [
    ("LAST_NAME", 1, 35),
    ("FIRST_NAME", 36, 20),
    ("MIDDLE_NAME", 56, 20),
    ("NAME_SUFFIX", 76, 3),
    ("YEAR_OF_BIRTH", 79, 4),
    ("GENDER", 83, 1),
    ("REGISTRATION_DATE", 84, 8),
    ("STREET_NUMBER_PREFIX", 92, 1),
    ("STREET_NUMBER", 93, 7),
    ("STREET_NUMBER_SUFFIX", 100, 4),
    ("DIRECTION_PREFIX", 104, 2),
    ("STREET_NAME", 106, 30),
    ("STREET_TYPE", 136, 6),
    ("DIRECTION_SUFFIX", 142, 2),
    ("EXTENSION", 144, 13),
    ("CITY", 157, 35),
    ("STATE", 192, 2),
    ("ZIP_CODE", 194, 5),
    ("MAILING_ADDRESS_LINE_ONE", 199, 50),
    ("MAILING_ADDRESS_LINE_TWO", 249, 50),
    ("MAILING_ADDRESS_LINE_THREE", 299, 50),
    ("MAILING_ADDRESS_LINE_FOUR", 349, 50),
    ("MAILING_ADDRESS_LINE_FIVE", 399, 50),
    ("VOTER_IDENTIFICATION_NUMBER", 449, 13),
    ("COUNTY_CODE", 462, 2),
    ("JURISDICTION_CODE", 464, 5),
    ("WARD_PRECINCT", 469, 6),
    ("SCHOOL_DISTRICT_CODE", 475, 5),
    ("STATE_HOUSE_DISTRICT_CODE", 480, 5),
    ("STATE_SENATE_DISTRICT_CODE", 485, 5),
    ("US_CONGRESS_DISTRICT_CODE", 490, 5),
    ("COUNTY_COMMISSIONER_DISTRICT_CODE", 495, 5),
    ("VILLAGE_DISTRICT_CODE", 500, 5),
    ("VILLAGE_PRECINCT", 505, 6),
    ("SCHOOL_PRECINCT", 511, 6),
    ("IS_PERMANENT_ABSENTEE_VOTER", 517, 1),
    ("VOTER_STATUS_TYPE_CODE", 518, 2),
    ("UOCAVA_STATUS_CODE", 520, 1),
];

/// One voter's line: each named column's value left-aligned in its span (a later value for a
/// column overrides an earlier one), blanks elsewhere, trailing blanks dropped (as exports
/// often do), CRLF.
fn mi_line(values: &[(&str, &str)]) -> String {
    let mut line: Vec<char> = vec![' '; 520];
    for (name, value) in values {
        let &(_, start, length) = MI_COLUMNS
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is a Michigan column"));
        assert!(
            value.chars().count() <= length,
            "{name}: {value:?} is too long"
        );
        let span = &mut line[start - 1..start - 1 + length];
        span.fill(' ');
        for (slot, c) in span.iter_mut().zip(value.chars()) {
            *slot = c;
        }
    }
    line.into_iter().collect::<String>().trim_end().to_string() + "\r\n"
}

/// Five voters: active with every address part, a verify-status voter with an accented name
/// and a house-number prefix, a cancelled one on a 519-character line, then two bad lines: a status outside the code
/// table (line 4) and a registration date that does not exist (line 5).
fn voter_file() -> String {
    let voter = |id, last, first, status| {
        vec![
            ("VOTER_IDENTIFICATION_NUMBER", id),
            ("LAST_NAME", last),
            ("FIRST_NAME", first),
            ("VOTER_STATUS_TYPE_CODE", status),
            ("YEAR_OF_BIRTH", "1961"),
            ("GENDER", "F"),
            ("REGISTRATION_DATE", "03071998"),
            ("STATE", "MI"),
            ("COUNTY_CODE", "33"),
            ("JURISDICTION_CODE", "11000"),
            ("WARD_PRECINCT", "01003"),
            ("SCHOOL_DISTRICT_CODE", "33020"),
            ("IS_PERMANENT_ABSENTEE_VOTER", "N"),
            ("UOCAVA_STATUS_CODE", "N"),
        ]
    };
    let mut smith = voter("1000000000001", "SMITH", "JANE", "A");
    smith.extend([
        ("MIDDLE_NAME", "ANN"),
        ("STREET_NUMBER", "1204"),
        ("STREET_NUMBER_SUFFIX", "1/2"),
        ("DIRECTION_PREFIX", "N"),
        ("STREET_NAME", "CHURCH"),
        ("STREET_TYPE", "ST"),
        ("EXTENSION", "APT 4"),
        ("CITY", "LANSING"),
        ("ZIP_CODE", "48933"),
        ("MAILING_ADDRESS_LINE_ONE", "PO BOX 12"),
    ]);
    let mut garcia = voter("1000000000002", "GARCÍA", "JOSÉ", "V");
    garcia.extend([
        ("NAME_SUFFIX", "JR"),
        ("YEAR_OF_BIRTH", "1975"),
        ("GENDER", "M"),
        ("REGISTRATION_DATE", "11302020"),
        ("STREET_NUMBER_PREFIX", "N"),
        ("STREET_NUMBER", "7569"),
        ("STREET_NAME", "SPRUCE"),
        ("STREET_TYPE", "RD"),
        ("DIRECTION_SUFFIX", "E"),
        ("CITY", "ALPENA"),
        ("ZIP_CODE", "49707"),
        ("COUNTY_CODE", "4"),
        ("JURISDICTION_CODE", "4010"),
        ("WARD_PRECINCT", "1"),
    ]);
    let mut jones = voter("1000000000003", "JONES", "MARIA", "C");
    jones.extend([
        ("UOCAVA_STATUS_CODE", ""), // the line ends at the status: 519 characters
        ("STREET_NUMBER", "7"),
        ("STREET_NAME", "ELM"),
        ("STREET_TYPE", "AVE"),
        ("CITY", "LANSING"),
        ("ZIP_CODE", "48933"),
    ]);
    let unknown_status = voter("1000000000004", "BROWN", "ANN", "Q");
    let mut bad_date = voter("1000000000005", "LEE", "BOB", "A");
    bad_date.push(("REGISTRATION_DATE", "02302016"));
    [smith, garcia, jones, unknown_status, bad_date]
        .iter()
        .map(|v| mi_line(v))
        .collect()
}

#[test]
fn michigan_qvf_fixed_width_lines_map_spans_joins_and_status_codes() {
    let text = voter_file();
    let (latin1, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    let loaded = load_builtin("mi_qvf", latin1.into_owned(), "entire_state_v.lst");
    assert_eq!(loaded.report.encoding, "latin-1");
    assert_eq!(loaded.report.rows_read, 5);
    assert_eq!(
        rejects(&loaded),
        vec![(4, "unknown_status"), (5, "bad_date")]
    );
    assert_eq!(
        record(&loaded, "1000000000001"),
        vec![
            ("voter_id", "1000000000001".to_string()),
            ("given_name", "JANE".into()),
            ("middle_name", "ANN".into()),
            ("family_name", "SMITH".into()),
            ("birth_year", "1961".into()),
            ("sex", "F".into()),
            ("address_line", "1204 1/2 N CHURCH ST APT 4".into()),
            ("house_number", "1204 1/2".into()),
            ("street", "N CHURCH ST".into()),
            ("unit", "APT 4".into()),
            ("locality", "LANSING".into()),
            ("postcode", "48933".into()),
            ("district", "33".into()),
            ("precinct", "11000 01003".into()),
            ("registration_date", "1998-03-07".into()),
            ("status", "active".into()),
        ]
    );
    // Accented names (one byte each in Latin-1) leave every later column in place.
    assert_eq!(
        record(&loaded, "1000000000002"),
        vec![
            ("voter_id", "1000000000002".to_string()),
            ("given_name", "JOSÉ".into()),
            ("family_name", "GARCÍA".into()),
            ("name_suffix", "JR".into()),
            ("birth_year", "1975".into()),
            ("sex", "M".into()),
            ("address_line", "N 7569 SPRUCE RD E".into()),
            ("house_number", "N 7569".into()),
            ("street", "SPRUCE RD E".into()),
            ("locality", "ALPENA".into()),
            ("postcode", "49707".into()),
            ("district", "4".into()),
            ("precinct", "4010 1".into()),
            ("registration_date", "2020-11-30".into()),
            ("status", "inactive".into()),
        ]
    );
    assert_eq!(
        record(&loaded, "1000000000003"),
        vec![
            ("voter_id", "1000000000003".to_string()),
            ("given_name", "MARIA".into()),
            ("family_name", "JONES".into()),
            ("birth_year", "1961".into()),
            ("sex", "F".into()),
            ("address_line", "7 ELM AVE".into()),
            ("house_number", "7".into()),
            ("street", "ELM AVE".into()),
            ("locality", "LANSING".into()),
            ("postcode", "48933".into()),
            ("district", "33".into()),
            ("precinct", "11000 01003".into()),
            ("registration_date", "1998-03-07".into()),
            ("status", "removed".into()),
        ]
    );
    // The file has a birth year, no birth date.
    assert!(!loaded.snapshot.has(rollaudit::model::Field::BirthDate));
}
