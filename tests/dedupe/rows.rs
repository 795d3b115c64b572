//! The rows of the hand-built register (`register.rs`): a synthetic background of
//! households, duplicates planted in it with typos, and the row builder of the named cases.

pub(super) const HEADER: &str =
    "voter_id,national_id,given_name,middle_name,family_name,name_suffix,\
birth_date,birth_year,sex,address_line,locality,postcode,phone,email";

/// One register row.
#[derive(Clone)]
pub(super) struct Row {
    pub(super) id: String,
    pub(super) nid: String,
    pub(super) given: String,
    pub(super) middle: String,
    pub(super) family: String,
    pub(super) suffix: String,
    pub(super) birth: String,
    pub(super) year: String,
    pub(super) sex: &'static str,
    pub(super) address: String,
    pub(super) locality: String,
    pub(super) postcode: String,
    pub(super) phone: String,
    pub(super) email: String,
}

impl Row {
    pub(super) fn csv(&self) -> String {
        [
            self.id.as_str(),
            &self.nid,
            &self.given,
            &self.middle,
            &self.family,
            &self.suffix,
            &self.birth,
            &self.year,
            self.sex,
            &self.address,
            &self.locality,
            &self.postcode,
            &self.phone,
            &self.email,
        ]
        .join(",")
    }
}

/// A deterministic stream of numbers (SplitMix64).
struct Stream(u64);
impl Stream {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN_F: &[&str] = &[
    "MARY", "LINDA", "SUSAN", "KAREN", "NANCY", "LISA", "BETTY", "HELEN", "SANDRA", "DONNA",
    "CAROL", "RUTH", "SHARON", "LAURA", "SARAH", "ANGELA", "ANNA", "BRENDA", "AMY", "JANET",
];
const GIVEN_M: &[&str] = &[
    "JAMES", "JOHN", "DAVID", "MARK", "PAUL", "GEORGE", "KEVIN", "BRIAN", "EDWARD", "RONALD",
    "JASON", "GARY", "LARRY", "FRANK", "SCOTT", "ERIC", "HENRY", "CARL", "ARTHUR", "ROGER",
];
const FAMILY: &[&str] = &[
    "SMITH",
    "JOHNSON",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "WILSON",
    "MOORE",
    "TAYLOR",
    "THOMAS",
    "WHITE",
    "HARRIS",
    "MARTIN",
    "CLARK",
    "LEWIS",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
    "WRIGHT",
    "HILL",
    "SCOTT",
    "GREEN",
    "ADAMS",
    "BAKER",
    "NELSON",
    "CARTER",
    "MITCHELL",
    "ROBERTS",
    "TURNER",
    "PHILLIPS",
    "CAMPBELL",
    "PARKER",
    "EVANS",
    "EDWARDS",
    "COLLINS",
    "STEWART",
    "MORRIS",
    "ROGERS",
    "REED",
    "COOK",
    "MORGAN",
    "BELL",
    "MURPHY",
    "BAILEY",
    "RIVERA",
    "COOPER",
    "HOWARD",
    "WARD",
    "KOWALCZYK",
    "OKAFOR",
    "NAKAMURA",
    "FITZGERALD",
    "BRANDT",
    "LINDQVIST",
    "HALVORSEN",
    "PETROVIC",
    "ACHTERBERG",
    "QUINTERO",
];
const STREETS: &[&str] = &[
    "OAK ST", "ELM AVE", "PINE RD", "LAKE DR", "HILL LN", "MILL CT",
];
const TOWNS: &[(&str, &str)] = &[
    ("SPRINGFIELD", "10001"),
    ("RIVERTON", "10002"),
    ("FAIRVIEW", "10003"),
    ("GREENVILLE", "10004"),
    ("MADISON", "10005"),
];

/// A register of households: couples sharing a surname, address and often a phone; adult
/// children; single people. `n` households.
pub(super) fn background(n: usize, seed: u64) -> Vec<Row> {
    let mut s = Stream(seed);
    let mut rows = Vec::new();
    let mut id = 0;
    for h in 0..n {
        let (town, postcode) = TOWNS[s.below(TOWNS.len() as u64) as usize];
        let address = format!("{} {}", 1 + s.below(900), s.pick(STREETS));
        let family = s.pick(FAMILY);
        let phone = format!("555{:07}", 1_000_000 + h);
        let members = 1 + s.below(3);
        for k in 0..members {
            id += 1;
            let female = s.below(2) == 0;
            let given = s.pick(if female { GIVEN_F } else { GIVEN_M });
            let year = if k < 2 {
                1940 + s.below(45)
            } else {
                1985 + s.below(20)
            };
            rows.push(Row {
                id: format!("B{id:06}"),
                nid: if s.below(10) < 9 {
                    format!("{:09}", 100_000_000 + id * 7)
                } else {
                    String::new()
                },
                given: given.into(),
                middle: if s.below(10) < 6 {
                    s.pick(if female { GIVEN_F } else { GIVEN_M }).into()
                } else {
                    String::new()
                },
                family: family.into(),
                suffix: String::new(),
                birth: format!("{year}-{:02}-{:02}", 1 + s.below(12), 1 + s.below(28)),
                year: String::new(),
                sex: if female { "F" } else { "M" },
                address: address.clone(),
                locality: town.into(),
                postcode: postcode.into(),
                phone: if s.below(10) < 4 {
                    phone.clone()
                } else {
                    String::new()
                },
                email: if s.below(10) < 3 {
                    format!(
                        "{}.{}{id}@mail.example",
                        given.to_lowercase(),
                        family.to_lowercase()
                    )
                } else {
                    String::new()
                },
            });
        }
    }
    rows
}

/// Re-registrations of background voters with one or two corruptions each, as the
/// generator plants them: `(original, duplicate)` rows.
pub(super) fn planted_duplicates(rows: &[Row], count: usize, seed: u64) -> Vec<Row> {
    let mut s = Stream(seed);
    let mut out = Vec::new();
    for k in 0..count {
        let mut d = rows[(s.below(rows.len() as u64 / 2) * 2) as usize].clone();
        d.id = format!("D{k:06}");
        d.nid = String::new();
        match k % 5 {
            0 => d.given = typo(&d.given, &mut s),
            1 => d.family = typo(&d.family, &mut s),
            2 => d.middle = String::new(),
            3 => {
                let (y, rest) = d.birth.split_at(5);
                let (m, day) = rest.split_at(2);
                let day = &day[1..];
                if day.parse::<u32>().unwrap_or(99) <= 12 && m != day {
                    d.birth = format!("{y}{day}-{m}");
                } else {
                    d.given = typo(&d.given, &mut s);
                }
            }
            _ => d.email = String::new(),
        }
        if s.below(10) < 4 {
            let (town, postcode) = TOWNS[s.below(TOWNS.len() as u64) as usize];
            d.address = format!("{} {}", 1 + s.below(900), s.pick(STREETS));
            d.locality = town.into();
            d.postcode = postcode.into();
        }
        if s.below(2) == 0 {
            d.phone = String::new();
        }
        out.push(d);
    }
    out
}

fn typo(name: &str, s: &mut Stream) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    let i = 1 + s.below(chars.len() as u64 - 1) as usize;
    if i + 1 < chars.len() && chars[i] != chars[i + 1] {
        chars.swap(i, i + 1);
    } else {
        chars.insert(i, chars[i]);
    }
    chars.into_iter().collect()
}

pub(super) fn row(
    id: &str,
    given: &str,
    family: &str,
    birth: &str,
    sex: &'static str,
    addr: &str,
) -> Row {
    Row {
        id: id.into(),
        nid: String::new(),
        given: given.into(),
        middle: String::new(),
        family: family.into(),
        suffix: String::new(),
        birth: birth.into(),
        year: String::new(),
        sex,
        address: addr.into(),
        locality: "SPRINGFIELD".into(),
        postcode: "10001".into(),
        phone: String::new(),
        email: String::new(),
    }
}
