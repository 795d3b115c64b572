//! `oh_swvf`: Ohio's Statewide Voter File, written from its header row (the profile says where
//! it was read): comma-separated, every field quoted, 46 register columns then one column per
//! election, ISO dates, status ACTIVE or CONFIRMATION, no sex.

use rollaudit::model::Field;

use super::{load_builtin, record, rejects};
use crate::util::Dir;

/// The 46 register columns of the header, in order; election columns follow them.
const OH_COLUMNS: [&str; 46] = [
    "SOS_VOTERID",
    "COUNTY_NUMBER",
    "COUNTY_ID",
    "LAST_NAME",
    "FIRST_NAME",
    "MIDDLE_NAME",
    "SUFFIX",
    "DATE_OF_BIRTH",
    "REGISTRATION_DATE",
    "VOTER_STATUS",
    "PARTY_AFFILIATION",
    "RESIDENTIAL_ADDRESS1",
    "RESIDENTIAL_SECONDARY_ADDR",
    "RESIDENTIAL_CITY",
    "RESIDENTIAL_STATE",
    "RESIDENTIAL_ZIP",
    "RESIDENTIAL_ZIP_PLUS4",
    "RESIDENTIAL_COUNTRY",
    "RESIDENTIAL_POSTALCODE",
    "MAILING_ADDRESS1",
    "MAILING_SECONDARY_ADDRESS",
    "MAILING_CITY",
    "MAILING_STATE",
    "MAILING_ZIP",
    "MAILING_ZIP_PLUS4",
    "MAILING_COUNTRY",
    "MAILING_POSTAL_CODE",
    "CAREER_CENTER",
    "CITY",
    "CITY_SCHOOL_DISTRICT",
    "COUNTY_COURT_DISTRICT",
    "CONGRESSIONAL_DISTRICT",
    "COURT_OF_APPEALS",
    "EDU_SERVICE_CENTER_DISTRICT",
    "EXEMPTED_VILL_SCHOOL_DISTRICT",
    "LIBRARY",
    "LOCAL_SCHOOL_DISTRICT",
    "MUNICIPAL_COURT_DISTRICT",
    "PRECINCT_NAME",
    "PRECINCT_CODE",
    "STATE_BOARD_OF_EDUCATION",
    "STATE_REPRESENTATIVE_DISTRICT",
    "STATE_SENATE_DISTRICT",
    "TOWNSHIP",
    "VILLAGE",
    "WARD",
];

/// Two election columns after the register columns, as the file carries them.
const OH_ELECTIONS: [&str; 2] = ["PRIMARY-05/03/2022", "GENERAL-11/08/2022"];

/// Quoted CSV: the header, then one line per voter (the named columns set, a later value
/// overriding an earlier one, every other column empty).
fn swvf(voters: &[Vec<(&str, &str)>]) -> String {
    let columns: Vec<&str> = OH_COLUMNS.iter().chain(&OH_ELECTIONS).copied().collect();
    let quoted = |fields: Vec<&str>| {
        let fields: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
        fields.join(",") + "\n"
    };
    let mut text = quoted(columns.clone());
    for values in voters {
        for (name, _) in values {
            assert!(columns.contains(name), "{name} is an Ohio column");
        }
        text += &quoted(
            columns
                .iter()
                .map(|c| {
                    let value = values.iter().rev().find(|(k, _)| k == c);
                    value.map_or("", |(_, v)| *v)
                })
                .collect(),
        );
    }
    text
}

/// Four voters: active with a secondary address and a comma inside a quoted field, a
/// CONFIRMATION voter without party, then a status the file does not use (line 4) and a
/// birth date that does not exist (line 5).
fn voters() -> Vec<Vec<(&'static str, &'static str)>> {
    let voter = |id, county, last, first, status| {
        vec![
            ("SOS_VOTERID", id),
            ("COUNTY_NUMBER", county),
            ("COUNTY_ID", "1234567"),
            ("LAST_NAME", last),
            ("FIRST_NAME", first),
            ("DATE_OF_BIRTH", "1961-03-07"),
            ("REGISTRATION_DATE", "1998-10-01"),
            ("VOTER_STATUS", status),
            ("RESIDENTIAL_STATE", "OH"),
            ("CONGRESSIONAL_DISTRICT", "03"),
        ]
    };
    let mut smith = voter("OH0012345678", "25", "SMITH", "JANE", "ACTIVE");
    smith.extend([
        ("MIDDLE_NAME", "ANN"),
        ("PARTY_AFFILIATION", "D"),
        ("RESIDENTIAL_ADDRESS1", "1204 N CHURCH ST, REAR"),
        ("RESIDENTIAL_SECONDARY_ADDR", "APT 4"),
        ("RESIDENTIAL_CITY", "COLUMBUS"),
        ("RESIDENTIAL_ZIP", "43215"),
        ("PRECINCT_NAME", "COLUMBUS 01-A"),
        ("PRECINCT_CODE", "25AAA"),
        ("PRIMARY-05/03/2022", "D"),
        ("GENERAL-11/08/2022", "X"),
    ]);
    let mut jones = voter("OH0012345679", "18", "JONES", "MARIA", "CONFIRMATION");
    jones.extend([
        ("SUFFIX", "II"),
        ("DATE_OF_BIRTH", "1975-01-05"),
        ("RESIDENTIAL_ADDRESS1", "7 ELM AVE"),
        ("RESIDENTIAL_CITY", "CLEVELAND"),
        ("RESIDENTIAL_ZIP", "44101"),
        ("PRECINCT_CODE", "18ABC"),
    ]);
    let unknown_status = voter("OH0012345680", "25", "BROWN", "ANN", "CANCELLED");
    let mut bad_date = voter("OH0012345681", "25", "LEE", "BOB", "ACTIVE");
    bad_date.push(("DATE_OF_BIRTH", "1975-02-29"));
    vec![smith, jones, unknown_status, bad_date]
}

#[test]
fn ohio_swvf_maps_its_header_and_leaves_the_election_columns_unmapped() {
    let loaded = load_builtin("oh_swvf", swvf(&voters()).into_bytes(), "SWVF_1_22.txt");
    assert_eq!(loaded.report.rows_read, 4);
    assert_eq!(
        rejects(&loaded),
        vec![(4, "unknown_status"), (5, "bad_date")]
    );
    assert_eq!(
        record(&loaded, "OH0012345678"),
        vec![
            ("voter_id", "OH0012345678".to_string()),
            ("given_name", "JANE".into()),
            ("middle_name", "ANN".into()),
            ("family_name", "SMITH".into()),
            ("birth_date", "1961-03-07".into()),
            ("birth_year", "1961".into()),
            ("address_line", "1204 N CHURCH ST, REAR APT 4".into()),
            ("unit", "APT 4".into()),
            ("locality", "COLUMBUS".into()),
            ("postcode", "43215".into()),
            ("district", "25".into()),
            ("precinct", "25AAA".into()),
            ("registration_date", "1998-10-01".into()),
            ("status", "active".into()),
            ("party", "D".into()),
        ]
    );
    assert_eq!(
        record(&loaded, "OH0012345679"),
        vec![
            ("voter_id", "OH0012345679".to_string()),
            ("given_name", "MARIA".into()),
            ("family_name", "JONES".into()),
            ("name_suffix", "II".into()),
            ("birth_date", "1975-01-05".into()),
            ("birth_year", "1975".into()),
            ("address_line", "7 ELM AVE".into()),
            ("locality", "CLEVELAND".into()),
            ("postcode", "44101".into()),
            ("district", "18".into()),
            ("precinct", "18ABC".into()),
            ("registration_date", "1998-10-01".into()),
            ("status", "inactive".into()),
        ]
    );
    let unmapped = &loaded.report.unmapped_columns;
    for column in ["COUNTY_ID", "MAILING_ADDRESS1", "PRECINCT_NAME"]
        .iter()
        .chain(&OH_ELECTIONS)
    {
        assert!(
            unmapped.iter().any(|c| c == column),
            "{column}: {unmapped:?}"
        );
    }
    assert!(!unmapped.iter().any(|c| c == "SOS_VOTERID"), "{unmapped:?}");
    // The file has no sex and no phone: checks that need them are skipped, not passed.
    assert!(loaded.report.missing_fields.contains(&Field::Sex));
    assert!(loaded.report.missing_fields.contains(&Field::Phone));
}

/// The binary knows the profile by name and reads the file as a user would.
#[test]
fn ohio_swvf_is_inspected_by_the_binary_with_its_rejects() {
    let dir = Dir::new();
    dir.write("SWVF_1_22.txt", swvf(&voters()));
    let run = dir.run(&["inspect", "SWVF_1_22.txt", "--profile", "oh_swvf"]);
    run.expect_code(0);
    assert!(run.stdout.contains("unknown_status"), "{}", run.stdout);
    assert!(run.stdout.contains("bad_date"), "{}", run.stdout);
}
