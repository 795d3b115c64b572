//! `nc_vr_snapshot`: North Carolina's VR snapshot series, 90 tab-separated columns
//! (`layout_VR_Snapshot.txt`), in its two vintages: UTF-8 with a byte-order mark and ISO
//! dates, and Latin-1 with CRLF line ends and date-times.

use rollaudit::diff::{diff, ChangeKind, DiffConfig};
use rollaudit::load::Loaded;
use rollaudit::model::Field;

use super::{load_builtin, texts};

/// The 90 columns of `layout_VR_Snapshot.txt`, in order.
const NC_VR_COLUMNS: [&str; 90] = [
    "snapshot_dt",
    "county_id",
    "county_desc",
    "voter_reg_num",
    "ncid",
    "status_cd",
    "voter_status_desc",
    "reason_cd",
    "voter_status_reason_desc",
    "absent_ind",
    "name_prefx_cd",
    "last_name",
    "first_name",
    "midl_name",
    "name_sufx_cd",
    "house_num",
    "half_code",
    "street_dir",
    "street_name",
    "street_type_cd",
    "street_sufx_cd",
    "unit_designator",
    "unit_num",
    "res_city_desc",
    "state_cd",
    "zip_code",
    "mail_addr1",
    "mail_addr2",
    "mail_addr3",
    "mail_addr4",
    "mail_city",
    "mail_state",
    "mail_zipcode",
    "area_cd",
    "phone_num",
    "race_code",
    "race_desc",
    "ethnic_code",
    "ethnic_desc",
    "party_cd",
    "party_desc",
    "sex_code",
    "sex",
    "age",
    "birth_place",
    "registr_dt",
    "precinct_abbrv",
    "precinct_desc",
    "municipality_abbrv",
    "municipality_desc",
    "ward_abbrv",
    "ward_desc",
    "cong_dist_abbrv",
    "cong_dist_desc",
    "super_court_abbrv",
    "super_court_desc",
    "judic_dist_abbrv",
    "judic_dist_desc",
    "nc_senate_abbrv",
    "nc_senate_desc",
    "nc_house_abbrv",
    "nc_house_desc",
    "county_commiss_abbrv",
    "county_commiss_desc",
    "township_abbrv",
    "township_desc",
    "school_dist_abbrv",
    "school_dist_desc",
    "fire_dist_abbrv",
    "fire_dist_desc",
    "water_dist_abbrv",
    "water_dist_desc",
    "sewer_dist_abbrv",
    "sewer_dist_desc",
    "sanit_dist_abbrv",
    "sanit_dist_desc",
    "rescue_dist_abbrv",
    "rescue_dist_desc",
    "munic_dist_abbrv",
    "munic_dist_desc",
    "dist_1_abbrv",
    "dist_1_desc",
    "dist_2_abbrv",
    "dist_2_desc",
    "confidential_ind",
    "cancellation_dt",
    "vtd_abbrv",
    "vtd_desc",
    "load_dt",
    "age_group",
];

/// One voter's row: the named columns set, every other column empty.
fn nc_row(values: &[(&str, &str)]) -> Vec<String> {
    NC_VR_COLUMNS
        .iter()
        .map(|c| {
            values
                .iter()
                .find(|(k, _)| k == c)
                .map_or_else(String::new, |(_, v)| v.to_string())
        })
        .collect()
}

/// The three voters of the older vintage, whose changes the newer one carries.
fn older_rows(date: &str) -> Vec<Vec<String>> {
    let base = |ncid: &'static str, last: &'static str, first: &'static str| {
        vec![
            ("snapshot_dt", date),
            ("county_desc", "ALAMANCE"),
            ("ncid", ncid),
            ("status_cd", "A"),
            ("voter_status_desc", "ACTIVE"),
            ("voter_status_reason_desc", "VERIFIED"),
            ("last_name", last),
            ("first_name", first),
            ("res_city_desc", "BURLINGTON"),
            ("state_cd", "NC"),
            ("zip_code", "27215"),
            ("party_cd", "UNA"),
            ("sex_code", "F"),
            ("age", "44"),
            ("registr_dt", "1998-03-02"),
            ("precinct_abbrv", "03N"),
        ]
    };
    let mut mover = base("ZZ000001", "SMITH", "JANE");
    mover.extend([
        ("house_num", "1204"),
        ("half_code", "1/2"),
        ("street_dir", "N"),
        ("street_name", "CHURCH"),
        ("street_type_cd", "ST"),
        ("unit_designator", "APT"),
        ("unit_num", "4"),
    ]);
    let mut renamed = base("ZZ000002", "JONES", "MARIA");
    renamed.extend([
        ("house_num", "7"),
        ("street_name", "ELM"),
        ("street_type_cd", "AVE"),
    ]);
    let mut inactivated = base("ZZ000003", "BROWN", "ANN");
    inactivated.extend([
        ("house_num", "88"),
        ("street_name", "OAK"),
        ("street_type_cd", "DR"),
        ("area_cd", "336"),
        ("phone_num", "5550100"),
    ]);
    [mover, renamed, inactivated]
        .iter()
        .map(|v| nc_row(v))
        .collect()
}

/// Tab-separated text: the header, then the rows, with `eol` line ends.
fn tsv(rows: &[Vec<String>], eol: &str) -> String {
    let mut text = NC_VR_COLUMNS.join("\t") + eol;
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push_str(eol);
    }
    text
}

fn load(bytes: Vec<u8>, name: &str) -> Loaded {
    load_builtin("nc_vr_snapshot", bytes, name)
}

#[test]
fn nc_vr_snapshots_of_both_vintages_load_with_the_address_composed() {
    // Older vintage: Latin-1 (an accented given name), CRLF, date-times, a NUL byte in an
    // unmapped column.
    let mut older = older_rows("2011-10-31 00:00:00");
    for row in &mut older {
        let at = |c: &str| {
            NC_VR_COLUMNS
                .iter()
                .position(|n| *n == c)
                .expect("a column")
        };
        row[at("registr_dt")] = "1998-03-02 00:00:00".into();
        row[at("birth_place")] = "NC\0".into();
    }
    older[1][12] = "MAR\u{cd}A".into(); // first_name MARÍA, Í in Latin-1
    let older_text = tsv(&older, "\r\n");
    let (latin1, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&older_text);
    assert!(!unmappable);
    let old = load(latin1.into_owned(), "VR_Snapshot_20111031.txt");
    assert_eq!(old.report.rows_loaded, 3, "{:?}", old.report.rejects);
    assert_eq!(
        texts(&old, Field::AddressLine),
        vec![
            Some("1204 1/2 N CHURCH ST APT 4".to_string()),
            Some("7 ELM AVE".to_string()),
            Some("88 OAK DR".to_string())
        ]
    );
    assert_eq!(texts(&old, Field::GivenName)[1].as_deref(), Some("MARÍA"));
    assert_eq!(texts(&old, Field::Unit)[0].as_deref(), Some("APT 4"));
    assert_eq!(texts(&old, Field::Phone)[2].as_deref(), Some("336 5550100"));
    assert_eq!(
        old.snapshot
            .column(Field::RegistrationDate)
            .and_then(|c| c.day(0)),
        rollaudit::dates::parse_iso_date("1998-03-02")
    );
    // `age` (44 on 2011-10-31) gives birth_year 1967, reported as approximate; no birth date.
    assert!(!old.report.unmapped_columns.iter().any(|c| c == "age"));
    assert_eq!(old.report.approximate_fields, vec![Field::BirthYear]);
    assert!(!old.snapshot.has(Field::BirthDate));
    let years = old.snapshot.column(Field::BirthYear).expect("derived");
    assert!((0..3).all(|r| years.day(r) == Some(1967)));

    // Newer vintage: UTF-8 with a byte-order mark (over the profile's Latin-1), LF, ISO dates.
    // The first voter moved, the second changed her family name, the third went inactive.
    let mut newer = older_rows("2022-11-08");
    let at = |c: &str| {
        NC_VR_COLUMNS
            .iter()
            .position(|n| *n == c)
            .expect("a column")
    };
    for (column, value) in [
        ("house_num", "310"),
        ("half_code", ""),
        ("street_dir", ""),
        ("street_name", "MAPLE"),
        ("street_type_cd", "RD"),
        ("unit_designator", ""),
        ("unit_num", ""),
        ("precinct_abbrv", "12S"),
    ] {
        newer[0][at(column)] = value.into();
    }
    for row in &mut newer {
        row[at("age")] = "55".into(); // eleven years on: the same birth year
    }
    newer[1][at("first_name")] = "MARÍA".into();
    newer[1][at("last_name")] = "GARCIA".into();
    newer[2][at("status_cd")] = "I".into();
    newer[2][at("voter_status_desc")] = "INACTIVE".into();
    newer[2][at("voter_status_reason_desc")] = "CONFIRMATION NOT RETURNED".into();
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(tsv(&newer, "\n").into_bytes());
    let new = load(bom, "VR_Snapshot_20221108.txt");
    assert_eq!(new.report.encoding, "utf-8 (bom)");
    assert_eq!(new.report.rows_loaded, 3, "{:?}", new.report.rejects);
    assert_eq!(
        texts(&new, Field::AddressLine)[0].as_deref(),
        Some("310 MAPLE RD")
    );

    // The diff across vintages sees exactly the three changes, classified.
    let result = diff(&old.snapshot, &new.snapshot, &DiffConfig::default());
    let kinds: Vec<Vec<ChangeKind>> = result.records.iter().map(|r| r.kinds.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            vec![ChangeKind::MoveOutOfPrecinct],
            vec![ChangeKind::NameChange],
            vec![ChangeKind::Inactivation],
        ],
        "{:?}",
        result.log
    );
}
