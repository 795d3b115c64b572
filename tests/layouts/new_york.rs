//! `ny_voter_list`: New York's NYSVoter voter list, written from the State Board of Elections'
//! "Data File Layout for voter list exports from NYSVoter Statewide voter database": 45
//! comma-separated columns, every field quoted, CR-LF, no header, YYYYMMDD dates, the
//! residence address in parts, the status and reason codes.

use super::{load_builtin, record, rejects};

/// The 45 SBOE field names of the layout, in field-position order.
const NY_COLUMNS: [&str; 45] = [
    "LASTNAME",
    "FIRSTNAME",
    "MIDDLENAME",
    "NAMESUFFIX",
    "RADDNUMBER",
    "RHALFCODE",
    "RAPARTMENT",
    "RPREDIRECTION",
    "RSTREETNAME",
    "RPOSTDIRECTION",
    "RCITY",
    "RZIP5",
    "RZIP4",
    "MAILADD1",
    "MAILADD2",
    "MAILADD3",
    "MAILADD4",
    "DOB",
    "GENDER",
    "ENROLLMENT",
    "OTHERPARTY",
    "COUNTYCODE",
    "ED",
    "LD",
    "TOWNCITY",
    "WARD",
    "CD",
    "SD",
    "AD",
    "LASTVOTEDDATE",
    "PREVYEARVOTED",
    "PREVCOUNTY",
    "PREVADDRESS",
    "PREVNAME",
    "COUNTYVRNUMBER",
    "REGDATE",
    "VRSOURCE",
    "IDREQUIRED",
    "IDMET",
    "STATUS",
    "REASONCODE",
    "INACT_DATE",
    "PURGE_DATE",
    "SBOEID",
    "VoterHistory",
];

/// One voter's record: the named fields set (a later value overrides an earlier one), every
/// other field empty, each in double quotes (inner quotes doubled), CR-LF.
fn ny_line(values: &[(&str, &str)]) -> String {
    for (name, _) in values {
        assert!(NY_COLUMNS.contains(name), "{name} is a NYSVoter field");
    }
    let fields: Vec<String> = NY_COLUMNS
        .iter()
        .map(|c| {
            let value = values.iter().rev().find(|(k, _)| k == c);
            format!("\"{}\"", value.map_or("", |(_, v)| *v).replace('"', "\"\""))
        })
        .collect();
    fields.join(",") + "\r\n"
}

/// Seven voters: active with every address part, inactive in New York City (no gender, a
/// post-direction, reason code), purged, a pre-registered 17-year-old, active UOCAVA with a
/// history holding commas and a quoted nickname, then two bad records: a status outside the
/// code table (line 6) and a birth date that does not exist (line 7).
fn voter_list() -> String {
    let voter = |id, last, first, status| {
        vec![
            ("SBOEID", id),
            ("LASTNAME", last),
            ("FIRSTNAME", first),
            ("STATUS", status),
            ("DOB", "19610307"),
            ("REGDATE", "19981001"),
            ("VRSOURCE", "MAIL"),
            ("IDREQUIRED", "N"),
            ("IDMET", "Y"),
            ("CD", "20"),
            ("SD", "46"),
        ]
    };
    let mut smith = voter("NY000000000000000001", "SMITH", "JANE", "A");
    smith.extend([
        ("MIDDLENAME", "A"),
        ("RADDNUMBER", "1204"),
        ("RHALFCODE", "1/2"),
        ("RAPARTMENT", "APT 4"),
        ("RPREDIRECTION", "N"),
        ("RSTREETNAME", "CHURCH ST"),
        ("RCITY", "ALBANY"),
        ("RZIP5", "12207"),
        ("RZIP4", "1234"),
        ("GENDER", "F"),
        ("ENROLLMENT", "DEM"),
        ("COUNTYCODE", "01"),
        ("ED", "004"),
        ("TOWNCITY", "ALBANY"),
        ("WARD", "002"),
        ("AD", "109"),
        ("COUNTYVRNUMBER", "A-1001"),
    ]);
    let mut jones = voter("NY000000000000000002", "JONES", "MARIA", "I");
    jones.extend([
        ("RADDNUMBER", "77"),
        ("RPREDIRECTION", "E"),
        ("RSTREETNAME", "MAIN ST"),
        ("RPOSTDIRECTION", "SW"),
        ("RCITY", "BROOKLYN"),
        ("RZIP5", "11201"),
        ("DOB", "19750105"),
        ("ENROLLMENT", "BLK"),
        ("COUNTYCODE", "24"),
        ("ED", "012"),
        ("TOWNCITY", "BROOKLYN"),
        ("AD", "052"),
        ("REGDATE", "20201130"),
        ("REASONCODE", "MAIL-CHECK"),
        ("INACT_DATE", "20230115"),
    ]);
    let mut brown = voter("NY000000000000000003", "BROWN", "ANN", "P");
    brown.extend([
        ("RADDNUMBER", "88"),
        ("RSTREETNAME", "OAK DR"),
        ("RCITY", "BUFFALO"),
        ("RZIP5", "14201"),
        ("GENDER", "F"),
        ("ENROLLMENT", "REP"),
        ("COUNTYCODE", "15"),
        ("ED", "007"),
        ("TOWNCITY", "BUFFALO"),
        ("WARD", "003"),
        ("AD", "141"),
        ("REASONCODE", "DEATH"),
        ("PURGE_DATE", "20240301"),
    ]);
    let mut garcia = voter("NY000000000000000004", "GARCIA", "JOSE", "17");
    garcia.extend([
        ("DOB", "20080815"),
        ("REGDATE", "20250401"),
        ("GENDER", "M"),
        ("COUNTYCODE", "01"),
    ]);
    let mut lee = voter("NY000000000000000005", "LEE", "BOB \"BOBBY\"", "AU");
    lee.extend([
        ("COUNTYCODE", "01"),
        ("VoterHistory", "20201103 GE, ABSENTEE;20221108 GE"),
    ]);
    let unknown_status = voter("NY000000000000000006", "KIM", "CARL", "X");
    let mut bad_date = voter("NY000000000000000007", "WU", "GUS", "A");
    bad_date.push(("DOB", "19750231"));
    [smith, jones, brown, garcia, lee, unknown_status, bad_date]
        .iter()
        .map(|v| ny_line(v))
        .collect()
}

#[test]
fn new_york_voter_list_joins_the_address_and_maps_every_status_code() {
    let loaded = load_builtin(
        "ny_voter_list",
        voter_list().into_bytes(),
        "AllNYSVoters.txt",
    );
    assert_eq!(loaded.report.rows_read, 7);
    assert_eq!(
        rejects(&loaded),
        vec![(6, "unknown_status"), (7, "bad_date")]
    );
    assert_eq!(
        record(&loaded, "NY000000000000000001"),
        vec![
            ("voter_id", "NY000000000000000001".to_string()),
            ("given_name", "JANE".into()),
            ("middle_name", "A".into()),
            ("family_name", "SMITH".into()),
            ("birth_date", "1961-03-07".into()),
            ("birth_year", "1961".into()),
            ("sex", "F".into()),
            ("address_line", "1204 1/2 N CHURCH ST APT 4".into()),
            ("house_number", "1204 1/2".into()),
            ("street", "N CHURCH ST".into()),
            ("unit", "APT 4".into()),
            ("locality", "ALBANY".into()),
            ("postcode", "12207".into()),
            ("district", "01".into()),
            ("precinct", "ALBANY 002 109 004".into()),
            ("registration_date", "1998-10-01".into()),
            ("status", "active".into()),
            ("party", "DEM".into()),
        ]
    );
    // No gender (optional), no ward, a post-direction, a reason code; BLK is a party value.
    assert_eq!(
        record(&loaded, "NY000000000000000002"),
        vec![
            ("voter_id", "NY000000000000000002".to_string()),
            ("given_name", "MARIA".into()),
            ("family_name", "JONES".into()),
            ("birth_date", "1975-01-05".into()),
            ("birth_year", "1975".into()),
            ("address_line", "77 E MAIN ST SW".into()),
            ("house_number", "77".into()),
            ("street", "E MAIN ST SW".into()),
            ("locality", "BROOKLYN".into()),
            ("postcode", "11201".into()),
            ("district", "24".into()),
            ("precinct", "BROOKLYN 052 012".into()),
            ("registration_date", "2020-11-30".into()),
            ("status", "inactive".into()),
            ("status_reason", "MAIL-CHECK".into()),
            ("party", "BLK".into()),
        ]
    );
    assert_eq!(
        record(&loaded, "NY000000000000000003"),
        vec![
            ("voter_id", "NY000000000000000003".to_string()),
            ("given_name", "ANN".into()),
            ("family_name", "BROWN".into()),
            ("birth_date", "1961-03-07".into()),
            ("birth_year", "1961".into()),
            ("sex", "F".into()),
            ("address_line", "88 OAK DR".into()),
            ("house_number", "88".into()),
            ("street", "OAK DR".into()),
            ("locality", "BUFFALO".into()),
            ("postcode", "14201".into()),
            ("district", "15".into()),
            ("precinct", "BUFFALO 003 141 007".into()),
            ("registration_date", "1998-10-01".into()),
            ("status", "removed".into()),
            ("status_reason", "DEATH".into()),
            ("party", "REP".into()),
        ]
    );
    assert_eq!(
        record(&loaded, "NY000000000000000004"),
        vec![
            ("voter_id", "NY000000000000000004".to_string()),
            ("given_name", "JOSE".into()),
            ("family_name", "GARCIA".into()),
            ("birth_date", "2008-08-15".into()),
            ("birth_year", "2008".into()),
            ("sex", "M".into()),
            ("district", "01".into()),
            ("registration_date", "2025-04-01".into()),
            ("status", "pending".into()),
        ]
    );
    // A doubled quote inside a quoted field, and a comma inside an unmapped one.
    assert_eq!(
        record(&loaded, "NY000000000000000005"),
        vec![
            ("voter_id", "NY000000000000000005".to_string()),
            ("given_name", "BOB \"BOBBY\"".into()),
            ("family_name", "LEE".into()),
            ("birth_date", "1961-03-07".into()),
            ("birth_year", "1961".into()),
            ("district", "01".into()),
            ("registration_date", "1998-10-01".into()),
            ("status", "active".into()),
        ]
    );
}
