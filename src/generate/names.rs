//! Name tables: given names by sex, a heavy-tailed surname distribution, nicknames and
//! spelling variants, street and locality names.
//!
//! Name collisions are what make deduplication hard (Goel et al., "One Person, One Vote":
//! millions of same-name-and-birth-date pairs arise by coincidence), so the frequencies must be
//! realistic at the top and heavy-tailed below it. The top of each table is hand-written from
//! public frequency lists: US Census 2010 surname counts (in thousands of people) and Social
//! Security Administration given-name frequencies pooled over the birth years of today's
//! voters (rounded, relative weights). Below the hand-written heads, the tails are built from
//! syllables and given Zipf weights (`weight(rank) ~ rank^-ZIPF_EXPONENT`), so there are tens of
//! thousands of rare surnames as in a real national file.
//!
//! The tables are pure data: they depend on no seed and are built once per process.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::rng::AliasTable;

/// Census 2010 surname counts, thousands of people (rounded). SMITH is 0.83% of the US.
#[rustfmt::skip]
const SURNAMES_HEAD: &[(&str, u32)] = &[
    ("SMITH", 2443), ("JOHNSON", 1933), ("WILLIAMS", 1625), ("BROWN", 1437), ("JONES", 1425),
    ("GARCIA", 1166), ("MILLER", 1161), ("DAVIS", 1116), ("RODRIGUEZ", 1095), ("MARTINEZ", 1060),
    ("HERNANDEZ", 1043), ("LOPEZ", 875), ("GONZALEZ", 841), ("WILSON", 802), ("ANDERSON", 784),
    ("THOMAS", 756), ("TAYLOR", 751), ("MOORE", 724), ("JACKSON", 708), ("MARTIN", 703),
    ("LEE", 693), ("PEREZ", 682), ("THOMPSON", 665), ("WHITE", 660), ("HARRIS", 624),
    ("SANCHEZ", 613), ("CLARK", 563), ("RAMIREZ", 557), ("LEWIS", 532), ("ROBINSON", 530),
    ("WALKER", 523), ("YOUNG", 484), ("ALLEN", 483), ("KING", 465), ("WRIGHT", 459),
    ("SCOTT", 440), ("TORRES", 438), ("NGUYEN", 438), ("HILL", 435), ("FLORES", 434),
    ("GREEN", 430), ("ADAMS", 428), ("NELSON", 425), ("BAKER", 420), ("HALL", 407),
    ("RIVERA", 391), ("CAMPBELL", 386), ("MITCHELL", 384), ("CARTER", 377), ("ROBERTS", 377),
    ("GOMEZ", 366), ("PHILLIPS", 352), ("EVANS", 343), ("TURNER", 338), ("DIAZ", 338),
    ("PARKER", 325), ("CRUZ", 318), ("EDWARDS", 317), ("COLLINS", 312), ("REYES", 312),
    ("STEWART", 309), ("MORRIS", 304), ("MORALES", 303), ("MURPHY", 301), ("COOK", 295),
    ("ROGERS", 295), ("GUTIERREZ", 289), ("ORTIZ", 287), ("MORGAN", 285), ("COOPER", 282),
    ("PETERSON", 278), ("BAILEY", 277), ("REED", 273), ("KELLY", 268), ("HOWARD", 265),
    ("RAMOS", 265), ("KIM", 263), ("COX", 260), ("WARD", 257), ("RICHARDSON", 256),
    ("WATSON", 253), ("BROOKS", 250), ("CHAVEZ", 250), ("WOOD", 248), ("JAMES", 245),
    ("BENNETT", 243), ("GRAY", 243), ("MENDOZA", 242), ("RUIZ", 239), ("HUGHES", 238),
    ("PRICE", 237), ("ALVAREZ", 234), ("CASTILLO", 231), ("SANDERS", 230), ("PATEL", 230),
    ("MYERS", 230), ("LONG", 229), ("ROSS", 228), ("FOSTER", 227), ("JIMENEZ", 226),
    ("POWELL", 224), ("JENKINS", 223), ("PERRY", 222), ("RUSSELL", 218), ("SULLIVAN", 215),
    ("BELL", 215), ("COLEMAN", 214), ("BUTLER", 212), ("HENDERSON", 211), ("BARNES", 211),
    ("GONZALES", 211), ("FISHER", 206), ("VASQUEZ", 205), ("SIMMONS", 204), ("ROMERO", 203),
    ("JORDAN", 203), ("PATTERSON", 202), ("ALEXANDER", 201), ("HAMILTON", 200), ("GRAHAM", 199),
    ("REYNOLDS", 199), ("GRIFFIN", 198), ("WALLACE", 198), ("MORENO", 197), ("WEST", 197),
    ("COLE", 196), ("HAYES", 196), ("BRYANT", 195), ("HERRERA", 195), ("GIBSON", 195),
    ("ELLIS", 194), ("TRAN", 194), ("MEDINA", 194), ("AGUILAR", 193), ("STEVENS", 193),
    ("MURRAY", 192), ("FORD", 191), ("CASTRO", 190), ("MARSHALL", 189), ("OWENS", 189),
    ("HARRISON", 188), ("FERNANDEZ", 188), ("MCDONALD", 187), ("WOODS", 187), ("WASHINGTON", 177),
    ("KENNEDY", 177), ("WELLS", 176), ("VARGAS", 176), ("HENRY", 175), ("CHEN", 173),
    ("FREEMAN", 173), ("WEBB", 172), ("TUCKER", 171), ("GUZMAN", 171), ("BURNS", 170),
    ("CRAWFORD", 170), ("OLSON", 169), ("SIMPSON", 168), ("PORTER", 168), ("HUNTER", 167),
    ("GORDON", 167), ("MENDEZ", 167), ("SILVA", 166), ("SHAW", 166), ("SNYDER", 165),
    ("MASON", 164), ("DIXON", 164), ("MUNOZ", 163), ("HUNT", 163), ("HICKS", 162),
    ("HOLMES", 162), ("PALMER", 161), ("WAGNER", 161), ("BLACK", 160), ("ROBERTSON", 160),
    ("BOYD", 159), ("ROSE", 158), ("STONE", 158), ("SALAZAR", 157), ("FOX", 157),
    ("WARREN", 156), ("MILLS", 156), ("MEYER", 155), ("RICE", 155), ("SCHMIDT", 154),
    ("GARZA", 153), ("DANIELS", 153), ("FERGUSON", 152), ("NICHOLS", 151), ("STEPHENS", 150),
    ("SOTO", 150), ("WEAVER", 149), ("RYAN", 148), ("GARDNER", 148), ("PAYNE", 147),
    ("GRANT", 147), ("DUNN", 146), ("KELLEY", 146), ("SPENCER", 145), ("HAWKINS", 145),
    ("O'BRIEN", 110), ("O'CONNOR", 95), ("MC DONALD", 20), ("DE LA CRUZ", 60), ("VAN DYKE", 12),
];

/// SSA given names, female, relative weights pooled over birth years 1935-2008.
#[rustfmt::skip]
const GIVEN_FEMALE_HEAD: &[(&str, u32)] = &[
    ("MARY", 2900), ("PATRICIA", 1400), ("JENNIFER", 1450), ("LINDA", 1400), ("ELIZABETH", 1350),
    ("BARBARA", 1100), ("SUSAN", 1000), ("JESSICA", 1000), ("SARAH", 950), ("KAREN", 900),
    ("LISA", 850), ("NANCY", 800), ("BETTY", 700), ("MARGARET", 700), ("SANDRA", 680),
    ("ASHLEY", 820), ("KIMBERLY", 650), ("EMILY", 640), ("DONNA", 600), ("MICHELLE", 620),
    ("CAROL", 560), ("AMANDA", 640), ("DOROTHY", 500), ("MELISSA", 560), ("DEBORAH", 540),
    ("STEPHANIE", 520), ("REBECCA", 480), ("SHARON", 460), ("LAURA", 460), ("CYNTHIA", 450),
    ("KATHLEEN", 430), ("AMY", 430), ("ANGELA", 430), ("SHIRLEY", 380), ("ANNA", 380),
    ("BRENDA", 370), ("PAMELA", 370), ("EMMA", 360), ("NICOLE", 380), ("HELEN", 340),
    ("SAMANTHA", 370), ("KATHERINE", 340), ("CHRISTINE", 320), ("DEBRA", 320), ("RACHEL", 320),
    ("CAROLYN", 300), ("JANET", 300), ("CATHERINE", 290), ("MARIA", 300), ("HEATHER", 300),
    ("DIANE", 280), ("RUTH", 260), ("JULIE", 260), ("OLIVIA", 250), ("JOYCE", 250),
    ("VIRGINIA", 240), ("VICTORIA", 240), ("KELLY", 240), ("LAUREN", 240), ("CHRISTINA", 240),
    ("JOAN", 220), ("EVELYN", 210), ("JUDITH", 220), ("MEGAN", 230), ("ANDREA", 220),
    ("CHERYL", 200), ("HANNAH", 220), ("JACQUELINE", 190), ("MARTHA", 190), ("GLORIA", 170),
    ("TERESA", 180), ("ANN", 180), ("SARA", 180), ("MADISON", 200), ("FRANCES", 160),
    ("KATHRYN", 160), ("JANICE", 160), ("JEAN", 160), ("ABIGAIL", 160), ("ALICE", 140),
    ("JULIA", 150), ("JUDY", 140), ("SOPHIA", 150), ("GRACE", 140), ("DENISE", 140),
    ("AMBER", 150), ("DORIS", 120), ("MARILYN", 120), ("DANIELLE", 140), ("BEVERLY", 120),
    ("ISABELLA", 130), ("THERESA", 120), ("DIANA", 120), ("NATALIE", 130), ("BRITTANY", 150),
    ("CHARLOTTE", 100), ("MARIE", 110), ("KAYLA", 130), ("ALEXIS", 120), ("LORI", 110),
];

/// SSA given names, male, relative weights pooled over birth years 1935-2008.
#[rustfmt::skip]
const GIVEN_MALE_HEAD: &[(&str, u32)] = &[
    ("JAMES", 2900), ("ROBERT", 2800), ("JOHN", 2700), ("MICHAEL", 2800), ("DAVID", 2200),
    ("WILLIAM", 2100), ("RICHARD", 1500), ("JOSEPH", 1400), ("THOMAS", 1300), ("CHRISTOPHER", 1300),
    ("CHARLES", 1100), ("DANIEL", 1150), ("MATTHEW", 1000), ("ANTHONY", 800), ("MARK", 780),
    ("DONALD", 750), ("STEVEN", 700), ("ANDREW", 650), ("PAUL", 640), ("JOSHUA", 720),
    ("KENNETH", 600), ("KEVIN", 580), ("BRIAN", 580), ("GEORGE", 540), ("TIMOTHY", 500),
    ("RONALD", 500), ("JASON", 520), ("EDWARD", 460), ("JEFFREY", 470), ("RYAN", 440),
    ("JACOB", 480), ("GARY", 420), ("NICHOLAS", 420), ("ERIC", 400), ("JONATHAN", 400),
    ("STEPHEN", 380), ("LARRY", 360), ("JUSTIN", 360), ("SCOTT", 350), ("BRANDON", 360),
    ("BENJAMIN", 330), ("SAMUEL", 300), ("GREGORY", 300), ("ALEXANDER", 300), ("FRANK", 280),
    ("PATRICK", 280), ("RAYMOND", 270), ("JACK", 250), ("DENNIS", 250), ("JERRY", 250),
    ("TYLER", 260), ("AARON", 240), ("JOSE", 260), ("ADAM", 230), ("NATHAN", 230),
    ("HENRY", 200), ("DOUGLAS", 210), ("ZACHARY", 210), ("PETER", 200), ("KYLE", 200),
    ("ETHAN", 200), ("WALTER", 180), ("NOAH", 180), ("JEREMY", 180), ("CHRISTIAN", 170),
    ("KEITH", 170), ("ROGER", 160), ("TERRY", 160), ("GERALD", 160), ("HAROLD", 150),
    ("SEAN", 150), ("AUSTIN", 150), ("CARL", 150), ("ARTHUR", 140), ("LAWRENCE", 140),
    ("DYLAN", 140), ("JESSE", 140), ("JORDAN", 140), ("BRYAN", 130), ("BILLY", 120),
    ("JOE", 120), ("BRUCE", 120), ("GABRIEL", 120), ("LOGAN", 110), ("ALBERT", 110),
    ("WILLIE", 110), ("ALAN", 110), ("JUAN", 120), ("WAYNE", 100), ("ELIJAH", 100),
    ("RANDY", 100), ("ROY", 100), ("VINCENT", 100), ("RALPH", 90), ("EUGENE", 90),
    ("RUSSELL", 90), ("BOBBY", 80), ("MASON", 90), ("PHILIP", 90), ("LOUIS", 90),
];

/// Formal given names and the short forms people register under (the "Bob/Robert" problem
/// of record linkage).
#[rustfmt::skip]
pub(crate) const NICKNAMES: &[(&str, &[&str])] = &[
    ("ROBERT", &["BOB", "ROB", "BOBBY"]), ("WILLIAM", &["BILL", "WILL", "BILLY"]),
    ("JAMES", &["JIM", "JIMMY"]), ("JOHN", &["JACK", "JOHNNY"]), ("RICHARD", &["RICK", "DICK"]),
    ("MICHAEL", &["MIKE"]), ("THOMAS", &["TOM", "TOMMY"]), ("JOSEPH", &["JOE", "JOEY"]),
    ("CHARLES", &["CHUCK", "CHARLIE"]), ("DANIEL", &["DAN", "DANNY"]), ("MATTHEW", &["MATT"]),
    ("ANTHONY", &["TONY"]), ("CHRISTOPHER", &["CHRIS"]), ("DAVID", &["DAVE"]),
    ("STEVEN", &["STEVE"]), ("STEPHEN", &["STEVE"]), ("EDWARD", &["ED", "TED"]),
    ("DONALD", &["DON"]), ("KENNETH", &["KEN"]), ("TIMOTHY", &["TIM"]), ("RONALD", &["RON"]),
    ("JEFFREY", &["JEFF"]), ("GREGORY", &["GREG"]), ("ALEXANDER", &["ALEX"]),
    ("NICHOLAS", &["NICK"]), ("BENJAMIN", &["BEN"]), ("SAMUEL", &["SAM"]),
    ("PATRICK", &["PAT"]), ("ELIZABETH", &["LIZ", "BETH", "BETTY"]),
    ("MARGARET", &["PEGGY", "MAGGIE"]), ("KATHERINE", &["KATE", "KATHY"]),
    ("CATHERINE", &["CATHY", "KATE"]), ("JENNIFER", &["JEN", "JENNY"]),
    ("PATRICIA", &["PAT", "PATTY", "TRISH"]), ("SUSAN", &["SUE"]), ("DEBORAH", &["DEB", "DEBBIE"]),
    ("REBECCA", &["BECKY"]), ("BARBARA", &["BARB"]), ("KIMBERLY", &["KIM"]),
    ("JESSICA", &["JESS"]), ("SAMANTHA", &["SAM"]), ("VICTORIA", &["VICKY"]),
    ("CHRISTINA", &["TINA"]), ("DOROTHY", &["DOT"]), ("ABIGAIL", &["ABBY"]),
];

/// Spellings that sound alike (Soundex/Metaphone-equal), both directions are used.
#[rustfmt::skip]
pub(crate) const PHONETIC_VARIANTS: &[(&str, &str)] = &[
    ("STEVEN", "STEPHEN"), ("CATHERINE", "KATHRYN"), ("KATHERINE", "CATHERINE"),
    ("SARA", "SARAH"), ("JON", "JOHN"), ("JEFFREY", "GEOFFREY"), ("ANN", "ANNE"),
    ("PHILIP", "PHILLIP"), ("ALAN", "ALLEN"), ("BRIAN", "BRYAN"), ("TERESA", "THERESA"),
    ("SMITH", "SMYTH"), ("THOMPSON", "THOMSON"), ("MEYER", "MEIER"), ("PETERSON", "PETERSEN"),
    ("REID", "REED"), ("GRAY", "GREY"), ("CARTER", "KARTER"), ("COHEN", "KOHEN"),
    ("GONZALEZ", "GONZALES"), ("HERNANDEZ", "HERNANDES"), ("MCDONALD", "MACDONALD"),
];

/// Street name stems (trees, landmarks, presidents) and suffixes as USPS abbreviates them.
#[rustfmt::skip]
const STREET_STEMS: &[&str] = &[
    "OAK", "MAPLE", "PINE", "CEDAR", "ELM", "WASHINGTON", "LAKE", "HILL", "PARK", "MAIN",
    "CHURCH", "MILL", "RIVER", "SPRING", "WALNUT", "CHESTNUT", "HICKORY", "WILLOW", "SUNSET",
    "HIGHLAND", "JEFFERSON", "LINCOLN", "MADISON", "FRANKLIN", "JACKSON", "MEADOW", "FOREST",
    "VALLEY", "RIDGE", "ORCHARD", "SCHOOL", "BROAD", "MARKET", "UNION", "CENTER", "NORTH",
    "SOUTH", "EAST", "WEST", "FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "BIRCH",
    "DOGWOOD", "MAGNOLIA", "POPLAR", "SYCAMORE", "LAUREL", "VIEW", "COLLEGE", "STATION",
];
#[rustfmt::skip]
const STREET_SUFFIXES: &[&str] = &["ST", "AVE", "RD", "DR", "LN", "CT", "WAY", "BLVD", "PL", "CIR"];

/// Syllables for the surname tail, town names and the given-name tails.
#[rustfmt::skip]
const ONSETS: &[&str] = &[
    "B", "BR", "C", "CH", "D", "DR", "F", "G", "GR", "H", "J", "K", "KR", "L", "M", "N", "P",
    "PR", "R", "S", "SH", "ST", "T", "TR", "V", "W", "Z", "BL", "CL", "FL",
];
#[rustfmt::skip]
const NUCLEI: &[&str] = &["A", "E", "I", "O", "U", "AR", "ER", "OR", "AL", "EL", "AN", "EN", "IN", "ON", "OU", "EA"];
#[rustfmt::skip]
const SURNAME_ENDINGS: &[&str] = &[
    "SON", "MAN", "TON", "LEY", "FORD", "WELL", "BERG", "SKI", "EZ", "INI", "ELLI", "OV", "ER",
    "ING", "STON", "WOOD", "KE", "DA", "ES", "LAND", "HART", "OWSKI", "ENKO", "SEN",
];
#[rustfmt::skip]
const TOWN_ENDINGS: &[&str] = &["VILLE", "TON", "FORD", "BURG", "FIELD", "PORT", "WOOD", "DALE", "MONT", "HAVEN"];
const GIVEN_FEMALE_ENDINGS: &[&str] = &["A", "IA", "INA", "ELLE", "ETTE", "LYN", "ENE", "ISE"];
const GIVEN_MALE_ENDINGS: &[&str] = &["O", "IN", "ON", "EN", "US", "EL", "AN", "IS"];

/// Exponent of the Zipf tail of surnames: Census surname rank-frequency curves fall roughly
/// as rank^-1 below the top few hundred names.
const ZIPF_EXPONENT: f64 = 1.0;
/// Number of syllable-built surnames below the Census head: enough that a 10^7-row register
/// has a long tail of rare names (the 2010 Census lists 162,000 names held by 100+ people).
const SURNAME_TAIL: usize = 30_000;
/// Weight (thousands of people) of the first tail surname: a Census name of rank ~200 is held
/// by about 145,000 people. With the exponent above, the head of ~200 real names then carries
/// about a third of all voters and SMITH about 1% (Census: 0.83%).
const SURNAME_TAIL_START: f64 = 145.0;
/// Syllable-built given names per sex below the SSA head (rare and unusual given names).
const GIVEN_TAIL: usize = 300;
/// Weight of the first tail given name relative to the last head name (tails are rare).
const GIVEN_TAIL_START: f64 = 0.3;

/// All name tables with their samplers.
pub(crate) struct NameTables {
    /// Given names: female head and tail first, then male. Index 0 is the empty string.
    pub given: Vec<String>,
    pub female: Vec<u16>,
    pub male: Vec<u16>,
    pub female_table: AliasTable,
    pub male_table: AliasTable,
    pub surnames: Vec<String>,
    pub surname_table: AliasTable,
    /// The names as email local parts: lowercase letters and digits only.
    pub given_email: Vec<String>,
    pub surnames_email: Vec<String>,
    pub streets: Vec<String>,
    pub towns: Vec<String>,
}

/// The process-wide name tables.
pub(crate) fn tables() -> &'static NameTables {
    static TABLES: OnceLock<NameTables> = OnceLock::new();
    TABLES.get_or_init(NameTables::build)
}

/// The `i`-th syllable word: components picked by a hash of `i`, so that consecutive ranks
/// mix onsets and endings; one word in three has two syllables before the ending.
fn syllable_word(i: usize, endings: &[&'static str]) -> String {
    let h = super::rng::mix64(i as u64 ^ 0x05EE_D0F4_A4E5);
    let pick =
        |table: &[&'static str], shift: u32| table[((h >> shift) % table.len() as u64) as usize];
    let onset = pick(ONSETS, 0);
    let nucleus = pick(NUCLEI, 8);
    let ending = pick(endings, 16);
    if (h >> 24).is_multiple_of(3) {
        let onset2 = pick(ONSETS, 32);
        let nucleus2 = pick(NUCLEI, 40);
        format!("{onset}{nucleus}{onset2}{nucleus2}{ending}")
    } else {
        format!("{onset}{nucleus}{ending}")
    }
}

/// Appends `count` distinct syllable words (not already in `seen`) with Zipf weights that
/// continue from `start_weight` at rank `start_rank`.
fn zipf_tail(
    count: usize,
    start_rank: usize,
    start_weight: f64,
    endings: &[&'static str],
    seen: &mut HashSet<String>,
) -> Vec<(String, f64)> {
    let mut out = Vec::with_capacity(count);
    let mut i = 0;
    while out.len() < count {
        let word = syllable_word(i, endings);
        i += 1;
        if word.len() < 3 || !seen.insert(word.clone()) {
            continue;
        }
        let rank = (start_rank + out.len() + 1) as f64;
        out.push((
            word,
            start_weight * (start_rank as f64 / rank).powf(ZIPF_EXPONENT),
        ));
    }
    out
}

impl NameTables {
    fn build() -> NameTables {
        let mut seen: HashSet<String> = HashSet::new();
        let mut surnames: Vec<(String, f64)> = SURNAMES_HEAD
            .iter()
            .map(|&(n, w)| {
                seen.insert(n.to_string());
                (n.to_string(), f64::from(w))
            })
            .collect();
        surnames.extend(zipf_tail(
            SURNAME_TAIL,
            surnames.len(),
            SURNAME_TAIL_START,
            SURNAME_ENDINGS,
            &mut seen,
        ));

        let mut given = vec![String::new()];
        let mut female = Vec::new();
        let mut male = Vec::new();
        let mut female_w = Vec::new();
        let mut male_w = Vec::new();
        let mut given_seen: HashSet<String> = HashSet::new();
        for (head, endings, ids, weights) in [
            (
                GIVEN_FEMALE_HEAD,
                GIVEN_FEMALE_ENDINGS,
                &mut female,
                &mut female_w,
            ),
            (GIVEN_MALE_HEAD, GIVEN_MALE_ENDINGS, &mut male, &mut male_w),
        ] {
            let mut entries: Vec<(String, f64)> = head
                .iter()
                .map(|&(n, w)| (n.to_string(), f64::from(w)))
                .collect();
            entries.iter().for_each(|(n, _)| {
                given_seen.insert(n.clone());
            });
            let start = entries.last().expect("given head is non-empty").1 * GIVEN_TAIL_START;
            entries.extend(zipf_tail(
                GIVEN_TAIL,
                entries.len(),
                start,
                endings,
                &mut given_seen,
            ));
            for (name, w) in entries {
                ids.push(u16::try_from(given.len()).expect("fewer than 65,536 given names"));
                given.push(name);
                weights.push(w);
            }
        }
        // Both sexes share some names (JORDAN, KELLY): a name may appear under each sex.
        let streets = STREET_STEMS.iter().map(|s| s.to_string()).collect();
        let mut town_seen = HashSet::new();
        let towns = zipf_tail(400, 1, 1.0, TOWN_ENDINGS, &mut town_seen)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let surname_weights: Vec<f64> = surnames.iter().map(|s| s.1).collect();
        let email = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .map(|n| {
                    n.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_lowercase())
                        .collect()
                })
                .collect()
        };
        let given_email = email(&given);
        let surnames_email = email(&surnames.iter().map(|s| s.0.clone()).collect::<Vec<_>>());
        NameTables {
            given_email,
            surnames_email,
            female_table: AliasTable::new(&female_w),
            male_table: AliasTable::new(&male_w),
            given,
            female,
            male,
            surname_table: AliasTable::new(&surname_weights),
            surnames: surnames.into_iter().map(|s| s.0).collect(),
            streets,
            towns,
        }
    }

    pub(crate) fn street_suffixes(&self) -> &'static [&'static str] {
        STREET_SUFFIXES
    }
}

/// The nicknames of a formal given name, if it has any.
pub(crate) fn nicknames_of(name: &str) -> Option<&'static [&'static str]> {
    NICKNAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A sound-alike spelling of a name, if one is listed.
pub(crate) fn phonetic_variant(name: &str) -> Option<&'static str> {
    PHONETIC_VARIANTS.iter().find_map(|&(a, b)| {
        if a == name {
            Some(b)
        } else if b == name {
            Some(a)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_distinct_names_and_a_long_tail() {
        let t = tables();
        let distinct: HashSet<&String> = t.surnames.iter().collect();
        assert_eq!(distinct.len(), t.surnames.len());
        assert!(t.surnames.len() > 20_000);
        assert_eq!(t.given[0], "");
        assert!(t.female.len() >= 300 && t.male.len() >= 300);
    }

    #[test]
    fn nickname_and_phonetic_lookups() {
        assert_eq!(nicknames_of("ROBERT"), Some(&["BOB", "ROB", "BOBBY"][..]));
        assert_eq!(phonetic_variant("STEPHEN"), Some("STEVEN"));
        assert_eq!(phonetic_variant("ZBIGNIEW"), None);
    }
}
