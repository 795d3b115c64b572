//! Identity normalisation: the spellings of one value that a register holds, reduced to one
//! key. One definition of each fact (a name's letters, an address, a phone number, a
//! placeholder birth date) for every part that compares identities: the record rules
//! ([`crate::rules`]: deceased matches, crowded addresses, the allowlist, placeholder birth
//! dates) and deduplication ([`crate::dedupe`], whose comparisons and blocking keys are all
//! computed on these keys, never on raw text). Each function documents what it folds and, as important, what it keeps apart.
//! None of them allocates more than its output; none looks at other records.

use crate::dates::civil_from_days;

/// Base letters of Latin Extended-A, U+0100..=U+017F, one per code point in order
/// (`1` stands for IJ, `2` for OE). Upper and lower case alternate in that block, so both map
/// to the same base; U+0138 (kra) and U+0149 (n preceded by apostrophe) fold to K and N.
const LATIN_EXTENDED_A: &[u8; 128] = b"AAAAAACCCCCCCCDDDDEEEEEEEEEEGGGGGGGGHHHHIIIIIIIIII11JJKKKLLLLLLLLLLNNNNNNNNNOOOOOO22RRRRRRSSSSSSSSTTTTTTUUUUUUUUUUUUWWYYYZZZZZZS";

/// The ASCII letters a character folds to: uppercase ASCII for ASCII letters, the base letters
/// of Latin-1 Supplement and Latin Extended-A letters (`é` -> `E`, `Ł` -> `L`, `ß` -> `SS`,
/// `Æ` -> `AE`, `Þ` -> `TH`), `None` for anything else (digits and punctuation included).
///
/// Letters outside these two blocks (Greek, Cyrillic, Latin Extended Additional such as `ẗ`)
/// are dropped: a register in those scripts needs a transliteration profile, not a fold.
pub fn fold_letter(c: char) -> Option<&'static str> {
    const UPPER: [&str; 26] = [
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R",
        "S", "T", "U", "V", "W", "X", "Y", "Z",
    ];
    let code = c as u32;
    match c {
        'A'..='Z' => Some(UPPER[(code - 'A' as u32) as usize]),
        'a'..='z' => Some(UPPER[(code - 'a' as u32) as usize]),
        '\u{C0}'..='\u{FF}' => fold_latin1(c),
        '\u{100}'..='\u{17F}' => Some(match LATIN_EXTENDED_A[(code - 0x100) as usize] {
            b'1' => "IJ",
            b'2' => "OE",
            b => UPPER[(b - b'A') as usize],
        }),
        _ => None,
    }
}

fn fold_latin1(c: char) -> Option<&'static str> {
    Some(match c.to_ascii_uppercase() {
        'À'..='Å' | 'à'..='å' => "A",
        'Æ' | 'æ' => "AE",
        'Ç' | 'ç' => "C",
        'È'..='Ë' | 'è'..='ë' => "E",
        'Ì'..='Ï' | 'ì'..='ï' => "I",
        'Ð' | 'ð' => "D",
        'Ñ' | 'ñ' => "N",
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' => "O",
        'Ù'..='Ü' | 'ù'..='ü' => "U",
        'Ý' | 'ý' | 'ÿ' => "Y",
        'Þ' | 'þ' => "TH",
        'ß' => "SS",
        _ => return None,
    })
}

/// Uppercase ASCII letters only: case and diacritics folded, everything else (spaces,
/// apostrophes, hyphens, periods, digits) removed. `"Mc Donald"`, `"McDonald"` and
/// `"MCDONALD"` give one key; so do `"O'Brien"` / `"OBRIEN"`, `"Smith-Jones"` /
/// `"SMITH JONES"`, `"van der Berg"` / `"VANDERBERG"`, `"de la Cruz"` / `"DELACRUZ"`.
pub fn letters(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_letters(s, &mut out);
    out
}

/// [`letters`] appended to `out`, for callers that reuse one buffer across rows.
fn push_letters(s: &str, out: &mut String) {
    if s.bytes().all(|b| b.is_ascii_alphabetic()) {
        // The common case, byte for byte what the fold below gives.
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_uppercase();
        return;
    }
    for c in s.chars() {
        if let Some(f) = fold_letter(c) {
            out.push_str(f);
        }
    }
}

/// The letter an OCR engine misreads as `digit` in a printed name (`0` for `O`, `1` for `I`
/// or `L`, `5` for `S`...); names hold no digits, so a digit in one is a misreading.
fn ocr_letter(digit: char) -> Option<char> {
    Some(match digit {
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '5' => 'S',
        '6' => 'G',
        '8' => 'B',
        _ => return None,
    })
}

/// The comparison key of a name part: digits read back as the letters OCR confuses them with
/// (`J0HN` -> `JOHN`, `5MITH` -> `SMITH`; `1` becomes `I`, so `1EE` and `LEE` are one edit
/// apart, not two), then [`letters`], then a leading `MAC` written `MC`
/// (`MACDONALD` = `MCDONALD`, the Scots and Irish spellings of one name). The rewrite applies
/// only when at least three letters follow, so `MACK` and `MACY` stay as they are; it is
/// applied to both sides of every comparison, so at worst it merges `MACHADO` with a
/// hypothetical `MCHADO`. Empty when nothing is left (a missing value).
pub fn name_key(s: &str) -> String {
    let mut key = String::with_capacity(s.len());
    name_key_into(s, &mut key);
    key
}

/// [`name_key`], borrowed when the text is its own key: uppercase letters `A`-`Z` only, with
/// no `MAC` to rewrite, as most registers write names. Normalising a register then allocates
/// only for the names that change.
pub fn name_key_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if is_plain_name(s) && !(s.len() >= 6 && s.starts_with("MAC")) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(name_key(s))
    }
}

/// Whether `s` is uppercase letters `A`-`Z` only: one word, nothing to fold, no particle.
pub fn is_plain_name(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_uppercase())
}

/// [`name_key`] written into `key` (cleared first), for callers that reuse one buffer.
pub fn name_key_into(s: &str, key: &mut String) {
    key.clear();
    if s.bytes().any(|b| b.is_ascii_digit()) {
        let read: String = s.chars().map(|c| ocr_letter(c).unwrap_or(c)).collect();
        push_letters(&read, key);
    } else {
        push_letters(s, key);
    }
    if key.len() >= 6 && key.starts_with("MAC") {
        key.replace_range(0..3, "MC");
    }
}

/// A key under which the letter groups OCR confuses with one letter are that letter:
/// `RN` -> `M`, `CL` -> `D`, `VV` -> `W` (`RNARY` and `MARY`, `CLARK` and `DARK`). Two names
/// with one OCR key are compared as `close`, never `exact`.
pub fn ocr_key(key: &str) -> String {
    key.replace("RN", "M").replace("CL", "D").replace("VV", "W")
}

/// Surname particles that registers keep or drop inconsistently (`VAN DER BERG` / `BERG`).
const PARTICLES: &[&str] = &[
    "VAN DER ", "VAN DEN ", "VAN DE ", "VAN ", "VON DER ", "VON ", "DE LA ", "DE LOS ", "DE ",
    "DEL ", "DELLA ", "DI ", "DA ", "DOS ", "DU ", "LE ", "LA ", "ST ", "SAINT ",
];

/// The family-name key without leading particles: `"van der Berg"` -> `BERG`,
/// `"De La Cruz"` -> `CRUZ`. Compared only as a second chance ("close"), never for exact
/// agreement: `DE LA CRUZ` and `CRUZ` may be different families.
pub fn family_core_key(s: &str) -> String {
    let mut spaced = String::with_capacity(s.len() + 1);
    for c in s.chars() {
        match fold_letter(c) {
            Some(f) => spaced.push_str(f),
            None if c == '\'' => {}
            None => spaced.push(' '),
        }
    }
    let mut rest = spaced.trim_start();
    'strip: loop {
        for p in PARTICLES {
            if rest.len() > p.len() && rest.starts_with(p) {
                rest = rest[p.len()..].trim_start();
                continue 'strip;
            }
        }
        break;
    }
    name_key(rest)
}

/// Given-name equivalence classes: a formal name and its common diminutives, from the usual
/// English-language nickname lists (e.g. the US Census Bureau's and genealogists' tables).
/// A name may sit in several classes (`PAT`: Patrick and Patricia), so equivalence is
/// "share a class". At most 128 classes: a class is one bit of a `u128`.
#[rustfmt::skip]
pub const NICKNAMES: &[(&str, &[&str])] = &[
    ("ROBERT", &["BOB", "BOBBY", "ROB", "ROBBIE", "BERT"]),
    ("WILLIAM", &["BILL", "BILLY", "WILL", "WILLIE", "LIAM"]),
    ("JAMES", &["JIM", "JIMMY", "JAMIE"]),
    ("JOHN", &["JACK", "JOHNNY", "JON"]),
    ("RICHARD", &["RICK", "RICKY", "DICK", "RICH"]),
    ("MICHAEL", &["MIKE", "MICKEY"]),
    ("THOMAS", &["TOM", "TOMMY"]),
    ("JOSEPH", &["JOE", "JOEY"]),
    ("CHARLES", &["CHUCK", "CHARLIE", "CHAS"]),
    ("DANIEL", &["DAN", "DANNY"]),
    ("MATTHEW", &["MATT"]),
    ("ANTHONY", &["TONY"]),
    ("CHRISTOPHER", &["CHRIS", "KIT"]),
    ("DAVID", &["DAVE", "DAVEY"]),
    ("STEVEN", &["STEVE", "STEPHEN"]),
    ("STEPHEN", &["STEVE", "STEVEN"]),
    ("EDWARD", &["ED", "EDDIE", "TED", "NED"]),
    ("DONALD", &["DON", "DONNIE"]),
    ("KENNETH", &["KEN", "KENNY"]),
    ("TIMOTHY", &["TIM", "TIMMY"]),
    ("RONALD", &["RON", "RONNIE"]),
    ("JEFFREY", &["JEFF", "GEOFFREY"]),
    ("GREGORY", &["GREG"]),
    ("ALEXANDER", &["ALEX", "SANDY"]),
    ("NICHOLAS", &["NICK", "NICKY"]),
    ("BENJAMIN", &["BEN", "BENNY"]),
    ("SAMUEL", &["SAM", "SAMMY"]),
    ("PATRICK", &["PAT", "PADDY"]),
    ("ANDREW", &["ANDY", "DREW"]),
    ("JOSHUA", &["JOSH"]),
    ("ZACHARY", &["ZACH", "ZACK"]),
    ("NATHANIEL", &["NATE", "NAT", "NATHAN"]),
    ("FREDERICK", &["FRED", "FREDDIE"]),
    ("LAWRENCE", &["LARRY"]),
    ("LEONARD", &["LEN", "LENNY", "LEO"]),
    ("RAYMOND", &["RAY"]),
    ("GERALD", &["GERRY", "JERRY"]),
    ("PHILIP", &["PHIL", "PHILLIP"]),
    ("HENRY", &["HANK", "HARRY"]),
    ("ALBERT", &["AL", "BERT"]),
    ("ALFRED", &["AL", "ALF", "FRED"]),
    ("DOUGLAS", &["DOUG"]),
    ("EUGENE", &["GENE"]),
    ("FRANCIS", &["FRANK"]),
    ("FRANKLIN", &["FRANK"]),
    ("HAROLD", &["HAL", "HARRY"]),
    ("WALTER", &["WALT", "WALLY"]),
    ("JONATHAN", &["JON", "JONNY"]),
    ("VINCENT", &["VINCE", "VINNY"]),
    ("ELIZABETH", &["LIZ", "LIZZIE", "BETH", "BETTY", "BETSY", "ELIZA", "LISA", "ELISE"]),
    ("MARGARET", &["PEGGY", "MAGGIE", "MEG", "MARGE", "MARGIE", "GRETA"]),
    ("KATHERINE", &["KATE", "KATHY", "KATIE", "KAT", "CATHERINE", "KATHRYN", "KATHLEEN"]),
    ("CATHERINE", &["CATHY", "CATE", "KATE", "KATHERINE", "KATHRYN"]),
    ("JENNIFER", &["JEN", "JENNY", "JENN"]),
    ("PATRICIA", &["PAT", "PATTY", "PATSY", "TRISH", "TRICIA"]),
    ("SUSAN", &["SUE", "SUSIE", "SUZY"]),
    ("DEBORAH", &["DEB", "DEBBIE", "DEBRA"]),
    ("REBECCA", &["BECKY", "BECCA"]),
    ("BARBARA", &["BARB", "BARBIE"]),
    ("KIMBERLY", &["KIM"]),
    ("JESSICA", &["JESS", "JESSIE"]),
    ("SAMANTHA", &["SAM", "SAMMY"]),
    ("VICTORIA", &["VICKY", "VICKI", "TORI"]),
    ("CHRISTINA", &["TINA", "CHRIS", "CHRISTY"]),
    ("CHRISTINE", &["CHRIS", "CHRISTY", "TINA"]),
    ("DOROTHY", &["DOT", "DOTTIE", "DOROTHEA"]),
    ("ABIGAIL", &["ABBY", "GAIL"]),
    ("MARY", &["MOLLY", "POLLY", "MAE", "MAMIE"]),
    ("ANN", &["ANNE", "ANNIE", "NAN", "NANCY", "ANNA"]),
    ("SARAH", &["SARA", "SALLY", "SADIE"]),
    ("ALEXANDRA", &["ALEX", "SANDRA", "SANDY", "LEXI"]),
    ("CYNTHIA", &["CINDY"]),
    ("PAMELA", &["PAM"]),
    ("JUDITH", &["JUDY"]),
    ("TERESA", &["TERRI", "TERRY", "TESS", "THERESA"]),
    ("VIRGINIA", &["GINNY", "GINGER"]),
    ("EVELYN", &["EVIE", "EVE"]),
    ("FRANCES", &["FRAN", "FRANNIE"]),
    ("GWENDOLYN", &["GWEN"]),
    ("HELEN", &["NELL", "ELLEN"]),
    ("JACQUELINE", &["JACKIE"]),
    ("LORRAINE", &["LORI"]),
    ("MADELINE", &["MADDIE", "MADDY"]),
    ("OLIVIA", &["LIV", "LIVVY"]),
    ("RACHEL", &["RACH"]),
    ("STEPHANIE", &["STEPH"]),
    ("SUZANNE", &["SUE", "SUZY"]),
    ("ALAN", &["ALLEN", "ALLAN", "AL"]),
    ("BRIAN", &["BRYAN"]),
];

/// The nickname classes a given-name key belongs to, one bit per row of [`NICKNAMES`].
pub fn nickname_classes(key: &str) -> u128 {
    NICKNAMES
        .iter()
        .enumerate()
        .filter(|(_, (formal, nicks))| *formal == key || nicks.contains(&key))
        .fold(0u128, |mask, (i, _)| mask | 1u128 << i)
}

/// Whether two given-name keys name the same person by the nickname table (`BOB`/`ROBERT`,
/// `PEGGY`/`MARGARET`; also `BOB`/`ROB`, two diminutives of one name).
pub fn nickname_equivalent(a: &str, b: &str) -> bool {
    a == b || nickname_classes(a) & nickname_classes(b) != 0
}

/// The formal name of a given-name key when it is a diminutive in the table, else the key.
/// An ambiguous diminutive (`PAT`) takes the first class listed; this is used for blocking
/// keys only, where the other passes catch what one ambiguous choice misses.
pub fn canonical_given(key: &str) -> &str {
    if NICKNAMES.iter().any(|(formal, _)| *formal == key) {
        return key;
    }
    NICKNAMES
        .iter()
        .find(|(_, nicks)| nicks.contains(&key))
        .map_or(key, |(formal, _)| formal)
}

/// An address word's USPS Publication 28 standard abbreviation (street suffixes,
/// directionals, secondary unit designators), if it has one. Unit designators all become `#`:
/// `APT 4`, `UNIT 4`, `#4` and `SUITE 4` are one address.
///
/// A `match`, not a table searched in order: each arm compares a word of known length, which
/// the compiler does inline, while the search called `memcmp` for every entry of the same
/// length. It runs on every word of every address of a register: the search was about half of
/// the address keys' time in a 10,000,000-voter audit (perf, session 22).
#[rustfmt::skip]
fn abbreviation(word: &str) -> Option<&'static str> {
    Some(match word {
        "STREET" | "STR" => "ST", "AVENUE" | "AV" | "AVEN" => "AVE", "ROAD" => "RD",
        "DRIVE" | "DRV" => "DR", "LANE" => "LN", "COURT" => "CT",
        "BOULEVARD" | "BOUL" => "BLVD", "PLACE" => "PL", "CIRCLE" => "CIR",
        "TERRACE" => "TER", "HIGHWAY" => "HWY", "PARKWAY" => "PKWY", "SQUARE" => "SQ",
        "TRAIL" => "TRL", "PLAZA" => "PLZ", "EXPRESSWAY" => "EXPY", "MOUNT" => "MT",
        "NORTH" => "N", "SOUTH" => "S", "EAST" => "E", "WEST" => "W", "NORTHEAST" => "NE",
        "NORTHWEST" => "NW", "SOUTHEAST" => "SE", "SOUTHWEST" => "SW",
        "APARTMENT" | "APT" | "UNIT" | "SUITE" | "STE" | "NO" | "NUMBER" | "ROOM" | "RM"
        | "FLAT" => "#",
        _ => return None,
    })
}

/// The comparison key of an address line: folded to uppercase ASCII, punctuation as spaces,
/// each word replaced by its standard abbreviation, `#` split from its number, words joined
/// by one space. `"12 North Oak Street, Apt. 4"` and `"12 N OAK ST #4"` both give
/// `12 N OAK ST # 4`. Empty when nothing is left.
pub fn address_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    push_address_tokens(s, &mut out, true);
    out
}

/// [`push_address_words`] into a new string.
pub fn address_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_address_words(s, &mut out);
    out
}

/// An address line's words as a person reads them: folded to uppercase ASCII as
/// [`address_key`] folds them, punctuation as spaces, but no word abbreviated and `#` dropped
/// (`12 North Oak Street, Apt. #4` -> `12 NORTH OAK STREET APT 4`). The record rules group
/// and show addresses by it, so a finding names the address as the register spells it.
pub fn push_address_words(s: &str, out: &mut String) {
    push_address_tokens(s, out, false);
}

/// The one tokeniser of addresses: letters folded ([`fold_letter`]) and digits kept, an
/// apostrophe dropped (`O'NEIL` = `ONEIL`), anything else a word break; with `abbreviate`,
/// `#` is a word of its own and each word its [`abbreviation`].
fn push_address_tokens(s: &str, out: &mut String, abbreviate: bool) {
    // Words are written straight into `out`; `word` is where the open one starts.
    let (mut word, mut words) = (None::<usize>, 0usize);
    let close = |out: &mut String, word: &mut Option<usize>| {
        let Some(start) = word.take() else {
            return;
        };
        if abbreviate {
            if let Some(short) = abbreviation(&out[start..]) {
                out.truncate(start);
                out.push_str(short);
            }
        }
    };
    let open = |out: &mut String, word: &mut Option<usize>, words: &mut usize| {
        if word.is_none() {
            if *words > 0 {
                out.push(' ');
            }
            *words += 1;
            *word = Some(out.len());
        }
    };
    for c in s.chars() {
        // An ASCII letter is folded here, without `fold_letter`'s one-letter string.
        if c.is_ascii_alphanumeric() {
            open(out, &mut word, &mut words);
            out.push(c.to_ascii_uppercase());
        } else if c == '#' && abbreviate {
            close(out, &mut word);
            open(out, &mut word, &mut words);
            out.push('#');
            close(out, &mut word);
        } else if let Some(f) = fold_letter(c) {
            open(out, &mut word, &mut words);
            out.push_str(f);
        } else if c != '\'' {
            close(out, &mut word);
        }
    }
    close(out, &mut word);
}

/// The digits of a phone number, without a leading North American `1` country code on an
/// 11-digit number; `None` for fewer than 7 digits or one digit repeated (`0000000000`,
/// `9999999999`: placeholders, not numbers).
pub fn phone_key(s: &str) -> Option<u64> {
    // In one pass without collecting the digits (a phone per row of a register): their
    // count and value, the first two, and whether all of them, or all but the first, repeat
    // one digit.
    let (mut count, mut value) = (0usize, 0u64);
    let (mut first, mut second) = (0u8, 0u8);
    let (mut one_digit, mut one_digit_after_first) = (true, true);
    for d in s.bytes().filter(u8::is_ascii_digit) {
        match count {
            0 => first = d,
            1 => second = d,
            _ => {}
        }
        one_digit &= d == first;
        one_digit_after_first &= count == 0 || d == second;
        if count < 15 {
            value = value * 10 + u64::from(d - b'0');
        }
        count += 1;
    }
    let (count, value, one_digit) = if count == 11 && first == b'1' {
        (10, value % 10_000_000_000, one_digit_after_first)
    } else {
        (count, value, one_digit)
    };
    (7..=15)
        .contains(&count)
        .then_some(value)
        .filter(|_| !one_digit)
}

/// An email address trimmed and lowercased; `None` without an `@` or with a placeholder
/// local part (`none@`, `noemail@`, `na@`, ...).
pub fn email_key(s: &str) -> Option<String> {
    let e = s.trim().to_ascii_lowercase();
    let (local, domain) = e.split_once('@')?;
    let placeholder = matches!(
        local,
        "" | "none" | "noemail" | "no" | "na" | "n/a" | "null" | "unknown" | "test"
    );
    (!placeholder && domain.contains('.')).then_some(e)
}

/// 1901-01-01 in days since 1970-01-01 (69 years of 365 days and 17 leap days before it):
/// the last date [`is_placeholder_birth_date`] can accept.
const LAST_PLACEHOLDER_BIRTH_DATE: i32 = -25_202;

/// Birth dates registers use as placeholders for "unknown", the one list the record rules
/// (`R-BIRTH-PLACEHOLDER`, which flags them) and deduplication (which treats them as missing:
/// agreeing on one is not evidence of anything) share:
/// - 1800-01-01: DOMAIN.md, in Ohio 6,498 of 9,108 same-name-and-birth-date pairs were on it;
/// - January 1 of any other year up to 1900, and 1901-01-01: the first day of common date
///   pickers and database defaults (nobody that old is on a register);
/// - 1899-12-30 and 1899-12-31: the spreadsheet serial-date epochs.
///
/// 1970-01-01 (the Unix epoch) is left out: real voters are born on it (about 1 in 30,000
/// voters), and a mass placeholder there is caught by `R-BIRTH-OVERREP`.
pub fn is_placeholder_birth_date(days: i32) -> bool {
    if days > LAST_PLACEHOLDER_BIRTH_DATE {
        return false; // nearly every date: no calendar arithmetic
    }
    let (y, m, d) = civil_from_days(days);
    (m == 1 && d == 1 && y <= 1901) || (y == 1899 && m == 12 && d >= 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::days_from_civil;

    #[test]
    fn folds_case_and_diacritics() {
        assert_eq!(letters("José Müller-Łukasz"), "JOSEMULLERLUKASZ");
        assert_eq!(letters("Ægir Þórsson"), "AEGIRTHORSSON");
        assert_eq!(letters("Straße"), "STRASSE");
        assert_eq!(letters("ĳssel Œuvre"), "IJSSELOEUVRE");
        assert_eq!(letters("  "), "");
        let all_ext_a: String = ('\u{100}'..='\u{17F}').collect();
        assert_eq!(
            letters(&all_ext_a).len(),
            132,
            "every Extended-A letter folds"
        );
    }

    #[test]
    fn name_particles_and_punctuation() {
        assert_eq!(name_key("Mc Donald"), name_key("MCDONALD"));
        assert_eq!(name_key("MacDonald"), name_key("McDonald"));
        assert_eq!(name_key("Mack"), "MACK");
        assert_eq!(name_key("O'Brien"), "OBRIEN");
        assert_eq!(name_key("Smith-Jones"), name_key("smith jones"));
        assert_eq!(name_key("van der Berg"), "VANDERBERG");
        assert_eq!(family_core_key("van der Berg"), "BERG");
        assert_eq!(family_core_key("De La Cruz"), "CRUZ");
        assert_eq!(family_core_key("DELACRUZ"), "DELACRUZ");
        assert_eq!(family_core_key("Vance"), "VANCE");
    }

    #[test]
    fn nicknames() {
        assert!(nickname_equivalent("BOB", "ROBERT"));
        assert!(nickname_equivalent("BOB", "ROB"));
        assert!(nickname_equivalent("PEGGY", "MARGARET"));
        assert!(nickname_equivalent("PAT", "PATRICIA"));
        assert!(nickname_equivalent("PAT", "PATRICK"));
        assert!(!nickname_equivalent("PATRICK", "PATRICIA"));
        assert!(!nickname_equivalent("JOHN", "JAMES"));
        assert_eq!(canonical_given("BILL"), "WILLIAM");
        assert_eq!(canonical_given("ZBIGNIEW"), "ZBIGNIEW");
        assert!(NICKNAMES.len() <= 128);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address_key("12 North Oak Street, Apt. 4"),
            address_key("12 N OAK ST #4")
        );
        assert_eq!(address_key("12 N OAK ST #4"), "12 N OAK ST # 4");
        // The words as read: folded, nothing abbreviated (the record rules' form).
        assert_eq!(address_words(" 12 Main St., Apt #4 "), "12 MAIN ST APT 4");
        assert_eq!(
            address_words("12 North Oak Street, Apt. #4"),
            "12 NORTH OAK STREET APT 4"
        );
        assert_eq!(address_words("3 Rue Élisée-O'Neil"), "3 RUE ELISEE ONEIL");
        let mut parts = address_words("40");
        parts.push('|');
        push_address_words("South Pl", &mut parts);
        assert_eq!(parts, "40|SOUTH PL");
        assert_eq!(address_key("7 Elm Avenue Unit 2"), "7 ELM AVE # 2");
        assert_ne!(address_key("12 OAK ST"), address_key("14 OAK ST"));
    }

    #[test]
    fn phone_numbers_by_hand() {
        assert_eq!(phone_key("+1 (555) 123-4567"), Some(5_551_234_567));
        assert_eq!(phone_key("1-800-555-1212"), Some(8_005_551_212));
        assert_eq!(phone_key("+44 20 7946 0958"), Some(442_079_460_958));
        assert_eq!(phone_key("555 1234"), Some(5_551_234));
        assert_eq!(phone_key("555 123"), None, "six digits");
        assert_eq!(phone_key("1234567890123456"), None, "sixteen digits");
        assert_eq!(
            phone_key("12222222222"),
            None,
            "a country code before one digit repeated"
        );
        assert_eq!(phone_key("11111111111"), None);
        assert_eq!(
            phone_key("21111111111"),
            Some(21_111_111_111),
            "no code: not one digit"
        );
        assert_eq!(phone_key(""), None);
    }

    proptest::proptest! {
        /// The borrowed key is the key.
        #[test]
        fn name_key_cow_is_name_key(s in "(MAC|Mac|O'|[A-Z]|[a-z]| |-){0,10}") {
            proptest::prop_assert_eq!(name_key_cow(&s), name_key(&s));
        }
    }

    #[test]
    fn contacts_and_placeholders() {
        assert_eq!(phone_key("+1 (555) 123-4567"), phone_key("5551234567"));
        assert_eq!(phone_key("0000000000"), None);
        assert_eq!(phone_key("12345"), None);
        assert_eq!(
            email_key(" Ann@Example.org "),
            Some("ann@example.org".into())
        );
        assert_eq!(email_key("none@none.com"), None);
        assert_eq!(email_key("ann"), None);
        assert!(is_placeholder_birth_date(days_from_civil(1800, 1, 1)));
        assert!(is_placeholder_birth_date(days_from_civil(1900, 1, 1)));
        assert!(is_placeholder_birth_date(days_from_civil(1901, 1, 1)));
        assert!(is_placeholder_birth_date(days_from_civil(1875, 1, 1)));
        assert!(!is_placeholder_birth_date(days_from_civil(1902, 1, 1)));
        assert!(!is_placeholder_birth_date(days_from_civil(1900, 1, 2)));
        assert!(is_placeholder_birth_date(days_from_civil(1899, 12, 30)));
        assert!(is_placeholder_birth_date(days_from_civil(1899, 12, 31)));
        assert!(!is_placeholder_birth_date(days_from_civil(1899, 12, 29)));
        assert!(!is_placeholder_birth_date(days_from_civil(1970, 1, 1)));
        assert_eq!(LAST_PLACEHOLDER_BIRTH_DATE, days_from_civil(1901, 1, 1));
    }
}
