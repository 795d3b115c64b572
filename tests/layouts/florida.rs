//! `fl_voter_extract`: Florida's statewide voter extract, written from the Division of
//! Elections' "Voter Extract Disk File Layout" (updated 08/2016): 38 tab-separated columns, no
//! header, MM/DD/YYYY dates, status ACT/INA/PRE, and the voter who asked for a public-records
//! exemption, whose protected columns are empty.

use rollaudit::model::Field;

use super::{load_builtin, record, rejects};

/// The 38 columns of the VOTER REGISTRATION EXTRACT FILE table, in order.
const FL_COLUMNS: [&str; 38] = [
    "County Code",
    "Voter ID",
    "Name Last",
    "Name Suffix",
    "Name First",
    "Name Middle",
    "Requested public records exemption",
    "Residence Address Line 1",
    "Residence Address Line 2",
    "Residence City (USPS)",
    "Residence State",
    "Residence Zipcode",
    "Mailing Address Line 1",
    "Mailing Address Line 2",
    "Mailing Address Line 3",
    "Mailing City",
    "Mailing State",
    "Mailing Zipcode",
    "Mailing Country",
    "Gender",
    "Race",
    "Birth Date",
    "Registration Date",
    "Party Affiliation",
    "Precinct",
    "Precinct Group",
    "Precinct Split",
    "Precinct Suffix",
    "Voter Status",
    "Congressional District",
    "House District",
    "Senate District",
    "County Commission District",
    "School Board District",
    "Daytime Area Code",
    "Daytime Phone Number",
    "Daytime Phone Extension",
    "Email address",
];

/// One voter's line: the named columns set (a later value for a column overrides an earlier
/// one), every other column empty, tab-separated.
fn fl_line(values: &[(&str, &str)]) -> String {
    for (name, _) in values {
        assert!(FL_COLUMNS.contains(name), "{name} is a Florida column");
    }
    let fields: Vec<&str> = FL_COLUMNS
        .iter()
        .map(|c| {
            let value = values.iter().rev().find(|(k, _)| k == c);
            value.map_or("", |(_, v)| *v)
        })
        .collect();
    fields.join("\t") + "\n"
}

/// Six voters of three counties: active, inactive (suffix, second address line, gender U,
/// one-digit month and day), a pre-registered minor, an exempt voter with the protected
/// columns empty, and two bad rows: a status outside the code table (line 5) and a
/// registration date that does not exist (line 6).
fn extract() -> String {
    let voter = |county, id, last, first, status| {
        vec![
            ("County Code", county),
            ("Voter ID", id),
            ("Name Last", last),
            ("Name First", first),
            ("Requested public records exemption", "N"),
            ("Residence State", "FL"),
            ("Race", "5"),
            ("Registration Date", "10/01/1998"),
            ("Voter Status", status),
            ("Congressional District", "002"),
        ]
    };
    let mut smith = voter("LEO", "100000001", "SMITH", "JANE", "ACT");
    smith.extend([
        ("Name Middle", "ANN"),
        ("Residence Address Line 1", "1204 N CHURCH ST"),
        ("Residence City (USPS)", "TALLAHASSEE"),
        ("Residence Zipcode", "32301"),
        ("Gender", "F"),
        ("Birth Date", "03/07/1961"),
        ("Party Affiliation", "DEM"),
        ("Precinct", "1102"),
        ("Daytime Area Code", "850"),
        ("Daytime Phone Number", "5550100"),
        ("Daytime Phone Extension", "12"),
        ("Email address", "jane.smith@example.org"),
    ]);
    let mut garcia = voter("DAD", "100000002", "GARCIA", "JOSE", "INA");
    garcia.extend([
        ("Name Suffix", "JR"),
        ("Residence Address Line 1", "310 MAPLE RD"),
        ("Residence Address Line 2", "APT 4"),
        ("Residence City (USPS)", "MIAMI"),
        ("Residence Zipcode", "33101"),
        ("Gender", "U"),
        ("Birth Date", "1/5/1975"),
        ("Registration Date", "11/30/2020"),
        ("Party Affiliation", "NPA"),
        ("Precinct", "0456"),
    ]);
    let mut jones = voter("ORA", "100000003", "JONES", "MARIA", "PRE");
    jones.extend([
        ("Residence Address Line 1", "7 ELM AVE"),
        ("Residence City (USPS)", "ORLANDO"),
        ("Residence Zipcode", "32801"),
        ("Gender", "F"),
        ("Birth Date", "08/15/2008"),
        ("Registration Date", "09/01/2024"),
        ("Party Affiliation", "REP"),
        ("Precinct", "0101"),
    ]);
    let exempt = vec![
        ("County Code", "ORA"),
        ("Voter ID", "100000004"),
        ("Requested public records exemption", "Y"),
        ("Gender", "M"),
        ("Race", "9"),
        ("Registration Date", "04/04/2004"),
        ("Party Affiliation", "REP"),
        ("Precinct", "0202"),
        ("Voter Status", "ACT"),
    ];
    let unknown_status = voter("LEO", "100000005", "BROWN", "ANN", "ACV");
    let mut bad_date = voter("LEO", "100000006", "LEE", "BOB", "ACT");
    bad_date.push(("Registration Date", "02/30/2016"));
    [smith, garcia, jones, exempt, unknown_status, bad_date]
        .iter()
        .map(|v| fl_line(v))
        .collect()
}

#[test]
fn florida_extract_maps_positions_codes_dates_and_the_exempt_voter() {
    let loaded = load_builtin(
        "fl_voter_extract",
        extract().into_bytes(),
        "LEO_20240930.txt",
    );
    assert_eq!(loaded.report.rows_read, 6);
    assert_eq!(
        rejects(&loaded),
        vec![(5, "unknown_status"), (6, "bad_date")]
    );
    assert_eq!(
        record(&loaded, "100000001"),
        vec![
            ("voter_id", "100000001".to_string()),
            ("given_name", "JANE".into()),
            ("middle_name", "ANN".into()),
            ("family_name", "SMITH".into()),
            ("birth_date", "1961-03-07".into()),
            ("birth_year", "1961".into()),
            ("sex", "F".into()),
            ("address_line", "1204 N CHURCH ST".into()),
            ("locality", "TALLAHASSEE".into()),
            ("postcode", "32301".into()),
            ("district", "LEO".into()),
            ("precinct", "1102".into()),
            ("registration_date", "1998-10-01".into()),
            ("status", "active".into()),
            ("party", "DEM".into()),
            ("phone", "850 5550100".into()),
            ("email", "jane.smith@example.org".into()),
        ]
    );
    // Gender U is missing; the second address line joins the first; 1/5/1975 is a date.
    assert_eq!(
        record(&loaded, "100000002"),
        vec![
            ("voter_id", "100000002".to_string()),
            ("given_name", "JOSE".into()),
            ("family_name", "GARCIA".into()),
            ("name_suffix", "JR".into()),
            ("birth_date", "1975-01-05".into()),
            ("birth_year", "1975".into()),
            ("address_line", "310 MAPLE RD APT 4".into()),
            ("locality", "MIAMI".into()),
            ("postcode", "33101".into()),
            ("district", "DAD".into()),
            ("precinct", "0456".into()),
            ("registration_date", "2020-11-30".into()),
            ("status", "inactive".into()),
            ("party", "NPA".into()),
        ]
    );
    assert_eq!(
        record(&loaded, "100000003"),
        vec![
            ("voter_id", "100000003".to_string()),
            ("given_name", "MARIA".into()),
            ("family_name", "JONES".into()),
            ("birth_date", "2008-08-15".into()),
            ("birth_year", "2008".into()),
            ("sex", "F".into()),
            ("address_line", "7 ELM AVE".into()),
            ("locality", "ORLANDO".into()),
            ("postcode", "32801".into()),
            ("district", "ORA".into()),
            ("precinct", "0101".into()),
            ("registration_date", "2024-09-01".into()),
            ("status", "pending".into()),
            ("party", "REP".into()),
        ]
    );
    // The exempt voter loads with what the layout does not protect, and nothing else.
    assert_eq!(
        record(&loaded, "100000004"),
        vec![
            ("voter_id", "100000004".to_string()),
            ("sex", "M".into()),
            ("district", "ORA".into()),
            ("precinct", "0202".into()),
            ("registration_date", "2004-04-04".into()),
            ("status", "active".into()),
            ("party", "REP".into()),
        ]
    );
    // Race, mailing address and the districts above the county are not canonical fields; a
    // headerless file has no column names to list as unmapped.
    assert!(!loaded.snapshot.has(Field::Region));
    assert!(!loaded.snapshot.has(Field::Unit));
}
