//! Blocking keys: what each [`BlockingRule`] keys a record on, and the finer keys that split
//! its commonest blocks ([`BlockingRule::refinement`]). The passes over these keys, their
//! budgets and the candidate pairs are in [`super::blocking`].

use xxhash_rust::xxh3::xxh3_64;

use super::records::{Records, NO_DATE};

/// A way to group records that may be the same person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockingRule {
    NationalId,
    GivenPrefixBirthDate,
    FamilySoundBirthDate,
    NameSoundsSwappedBirthDate,
    NameSoundsBirthYear,
    InitialsBirthDateAnyOrder,
    AddressFamilySound,
    AddressInitialsAnyOrder,
    BirthDatePostcode,
    NameSoundsArea,
    GivenPrefixFamilyName,
    Phone,
    Email,
    BirthDate,
    FamilySoundArea,
    GivenSoundArea,
}

impl BlockingRule {
    /// The default passes, in the order candidate pairs are credited. The [broad](Self::broad)
    /// ones come last. [`BlockingRule::GivenPrefixFamilyName`] is broad: on a generated
    /// register of 1,000,000 it brought in three times more same-name strangers than all other
    /// rules brought candidates, for the few duplicates that have no birth date *and* no
    /// shared address, phone or email; on a register without birth dates it is how a
    /// duplicate who moved is found at all.
    pub const DEFAULT: [BlockingRule; 16] = [
        BlockingRule::NationalId,
        BlockingRule::GivenPrefixBirthDate,
        BlockingRule::FamilySoundBirthDate,
        BlockingRule::NameSoundsSwappedBirthDate,
        BlockingRule::NameSoundsBirthYear,
        BlockingRule::InitialsBirthDateAnyOrder,
        BlockingRule::AddressFamilySound,
        BlockingRule::AddressInitialsAnyOrder,
        BlockingRule::BirthDatePostcode,
        BlockingRule::NameSoundsArea,
        BlockingRule::Phone,
        BlockingRule::Email,
        BlockingRule::BirthDate,
        BlockingRule::FamilySoundArea,
        BlockingRule::GivenSoundArea,
        BlockingRule::GivenPrefixFamilyName,
    ];

    /// Every rule.
    pub const ALL: [BlockingRule; 16] = [
        BlockingRule::NationalId,
        BlockingRule::GivenPrefixBirthDate,
        BlockingRule::FamilySoundBirthDate,
        BlockingRule::NameSoundsSwappedBirthDate,
        BlockingRule::NameSoundsBirthYear,
        BlockingRule::InitialsBirthDateAnyOrder,
        BlockingRule::AddressFamilySound,
        BlockingRule::AddressInitialsAnyOrder,
        BlockingRule::BirthDatePostcode,
        BlockingRule::NameSoundsArea,
        BlockingRule::GivenPrefixFamilyName,
        BlockingRule::Phone,
        BlockingRule::Email,
        BlockingRule::BirthDate,
        BlockingRule::FamilySoundArea,
        BlockingRule::GivenSoundArea,
    ];

    /// Broad rules: keys that many unrelated records share in a large register (a birth date,
    /// a surname in a postcode, a name alone). Their blocks are capped at
    /// [`BROAD_MAX_BLOCK_SIZE`](super::blocking::BROAD_MAX_BLOCK_SIZE) (a key that common
    /// cannot tell its records apart without a date), and each emits at most
    /// [`MAX_PAIRS_PER_RECORD`](super::blocking::MAX_PAIRS_PER_RECORD) pairs per record of
    /// the register: over that budget, the cap comes down until the blocks left fit, so a small
    /// register (or one whose other keys are missing) gets the looser search, a national one
    /// keeps its candidate pairs growing with its size, not its square, and every register
    /// keeps the rare keys, the ones scoring can confirm (a moved duplicate without a birth
    /// date is found by its rare name or nowhere).
    pub const fn broad(self) -> bool {
        matches!(
            self,
            BlockingRule::BirthDate
                | BlockingRule::FamilySoundArea
                | BlockingRule::GivenSoundArea
                | BlockingRule::GivenPrefixFamilyName
        )
    }

    pub const fn name(self) -> &'static str {
        match self {
            BlockingRule::NationalId => "national_id",
            BlockingRule::GivenPrefixBirthDate => "given_prefix+birth_date",
            BlockingRule::FamilySoundBirthDate => "family_sound+birth_date",
            BlockingRule::NameSoundsSwappedBirthDate => "name_sounds_any_order+birth_date",
            BlockingRule::NameSoundsBirthYear => "given_sound+family_sound+birth_year",
            BlockingRule::InitialsBirthDateAnyOrder => "initials+birth_date_any_order",
            BlockingRule::AddressFamilySound => "address+family_sound",
            BlockingRule::AddressInitialsAnyOrder => "address+initials_any_order",
            BlockingRule::BirthDatePostcode => "birth_date+postcode",
            BlockingRule::NameSoundsArea => "name_sounds_any_order+area",
            BlockingRule::GivenPrefixFamilyName => "given_prefix+family_name",
            BlockingRule::Phone => "phone",
            BlockingRule::Email => "email",
            BlockingRule::BirthDate => "birth_date",
            BlockingRule::FamilySoundArea => "family_sound+area",
            BlockingRule::GivenSoundArea => "given_sound+area",
        }
    }

    /// What the rule catches that the others miss.
    pub const fn description(self) -> &'static str {
        match self {
            BlockingRule::NationalId => "same national id: duplicates that kept it",
            BlockingRule::GivenPrefixBirthDate => {
                "first 3 letters of the formal given name (nicknames resolved) and full birth \
                 date: typos and phonetic spellings of the family name"
            }
            BlockingRule::FamilySoundBirthDate => {
                "sound key of the family name and full birth date: given-name typos and \
                 nicknames outside the table"
            }
            BlockingRule::NameSoundsSwappedBirthDate => {
                "the two name sound keys in either order and full birth date: given and \
                 family name swapped"
            }
            BlockingRule::NameSoundsBirthYear => {
                "sound keys of both names and birth year: transposed or mistyped birth dates"
            }
            BlockingRule::InitialsBirthDateAnyOrder => {
                "initials of the formal given name and the family name in either order, and \
                 birth year with day and month in either order: OCR and typos inside both \
                 names, transposed day and month, also with the names swapped"
            }
            BlockingRule::AddressFamilySound => {
                "normalised address and family-name sound key: re-registrations at one \
                 address (and households, which scoring must tell apart)"
            }
            BlockingRule::AddressInitialsAnyOrder => {
                "normalised address and the initials of the formal given name and the family \
                 name in either order: re-registrations at one address without a birth date \
                 whose family name is mistyped or swapped with the given name"
            }
            BlockingRule::BirthDatePostcode => {
                "full birth date and postcode: both names mistyped, same area"
            }
            BlockingRule::NameSoundsArea => {
                "the two name sound keys in either order and the postcode (else the \
                 locality): registers without birth dates, and duplicates that lost theirs \
                 or had it mistyped, in the same area"
            }
            BlockingRule::GivenPrefixFamilyName => {
                "formal given-name prefix and exact family name: missing birth dates"
            }
            BlockingRule::Phone => "same phone number",
            BlockingRule::Email => "same email address",
            BlockingRule::BirthDate => {
                "full birth date alone (broad): both names mistyped or replaced, moved"
            }
            BlockingRule::FamilySoundArea => {
                "family-name sound key and postcode, else locality (broad): given name \
                 replaced or mistyped, no birth date"
            }
            BlockingRule::GivenSoundArea => {
                "given-name sound key and postcode, else locality (broad): family name \
                 changed or mistyped, no birth date"
            }
        }
    }

    /// The record's key under this rule, `None` if a field it needs is missing.
    pub(crate) fn key(self, r: &Records, row: usize) -> Option<u64> {
        let (names, x) = (&r.names, &r.rows[row]);
        let (given, family, birth) = (x.given as usize, x.family as usize, x.birth);
        let present = |v: u64| (v != 0).then_some(v);
        let date = (birth != NO_DATE).then_some(birth as u64);
        let name = |id: usize| (id != 0).then_some(id);
        let parts: [u64; 3] = match self {
            BlockingRule::NationalId => [present(x.national_id)?, 0, 0],
            BlockingRule::GivenPrefixBirthDate => [names.canon_prefix[name(given)?], date?, 0],
            BlockingRule::FamilySoundBirthDate => [u64::from(names.sound[name(family)?]), date?, 0],
            BlockingRule::NameSoundsSwappedBirthDate => {
                let (g, f) = (names.sound[name(given)?], names.sound[name(family)?]);
                [u64::from(g.min(f)), u64::from(g.max(f)), date?]
            }
            BlockingRule::NameSoundsBirthYear => {
                let year = x.year;
                [
                    u64::from(names.sound[name(given)?]),
                    u64::from(names.sound[name(family)?]),
                    (year != NO_DATE).then_some(year as u64)?,
                ]
            }
            BlockingRule::InitialsBirthDateAnyOrder => {
                let (y, m, d) = crate::dates::civil_from_days(date? as i32);
                let (g, f) = (
                    names.canon_initial[name(given)?],
                    names.get(name(family)? as u32).as_bytes()[0],
                );
                let initials = u64::from(g.min(f)) << 8 | u64::from(g.max(f));
                [initials, y as u64, u64::from(m.min(d) * 100 + m.max(d))]
            }
            BlockingRule::AddressFamilySound => [
                present(x.address)?,
                u64::from(names.sound[name(family)?]),
                0,
            ],
            BlockingRule::AddressInitialsAnyOrder => {
                let (g, f) = (
                    names.canon_initial[name(given)?],
                    names.get(name(family)? as u32).as_bytes()[0],
                );
                [
                    present(x.address)?,
                    u64::from(g.min(f)) << 8 | u64::from(g.max(f)),
                    0,
                ]
            }
            BlockingRule::BirthDatePostcode => [date?, present(u64::from(x.area))?, 0],
            BlockingRule::NameSoundsArea => {
                let (g, f) = (names.sound[name(given)?], names.sound[name(family)?]);
                [
                    u64::from(g.min(f)) << 32 | u64::from(g.max(f)),
                    present(u64::from(x.area))?,
                    0,
                ]
            }
            BlockingRule::GivenPrefixFamilyName => {
                [names.canon_prefix[name(given)?], name(family)? as u64, 0]
            }
            BlockingRule::Phone => [present(x.phone)?, 0, 0],
            BlockingRule::Email => [present(x.email)?, 0, 0],
            BlockingRule::BirthDate => [date?, 0, 0],
            BlockingRule::FamilySoundArea => [
                u64::from(names.sound[name(family)?]),
                present(u64::from(x.area))?,
                0,
            ],
            BlockingRule::GivenSoundArea => [
                u64::from(names.sound[name(given)?]),
                present(u64::from(x.area))?,
                0,
            ],
        };
        let mut bytes = [0u8; 25];
        bytes[0] = self as u8;
        for (i, p) in parts.iter().enumerate() {
            bytes[1 + 8 * i..9 + 8 * i].copy_from_slice(&p.to_le_bytes());
        }
        Some(xxh3_64(&bytes))
    }

    /// Two finer keys for the rule's largest blocks, used when the rule emits more than
    /// [`EXACT_PAIRS_PER_RECORD`](super::blocking::EXACT_PAIRS_PER_RECORD) pairs per record
    /// (`None`: the rule is never split). A split block keeps the pairs that agree on either
    /// key, so one error in the field the keys come from never parts a duplicate: the family
    /// name's initial and its last three letters, for the rule that exists to catch
    /// family-name typos by the given name and birth date (a typo past the first letter keeps
    /// the initial; one in the first letter, or the first letter dropped, keeps the end); the
    /// month and the day of birth, for the one that exists to catch mistyped birth dates by
    /// the names' sounds. The keys come from fields the rule does not rely on. A record
    /// without the field ([`NO_KEY`]) joins no part: in a block too common to compare whole,
    /// nothing tells it apart.
    pub(crate) fn refinement(self, r: &Records, row: usize) -> Option<[u64; 2]> {
        let (names, x) = (&r.names, &r.rows[row]);
        // The first letter and the last three.
        let split = |id: u32, initial: Option<u8>| -> [u64; 2] {
            let name = names.get(id).as_bytes();
            match initial.or(name.first().copied()) {
                Some(i) if id != 0 => {
                    let end = name[name.len().saturating_sub(3)..]
                        .iter()
                        .fold(0u64, |k, &b| k << 8 | u64::from(b));
                    [u64::from(i), end]
                }
                _ => [NO_KEY; 2],
            }
        };
        let any_order = |a: u8, b: u8| u64::from(a.min(b)) << 8 | u64::from(a.max(b));
        Some(match self {
            BlockingRule::GivenPrefixBirthDate => split(x.family, None),
            BlockingRule::FamilySoundBirthDate | BlockingRule::AddressFamilySound => {
                split(x.given, Some(names.canon_initial[x.given as usize]))
            }
            BlockingRule::NameSoundsBirthYear => match x.birth {
                // A register of birth years: the given name's prefix and the family name.
                NO_DATE => [
                    names.canon_prefix[x.given as usize] | 1 << 62,
                    u64::from(x.family) | 1 << 62,
                ],
                days => {
                    let (_, m, d) = crate::dates::civil_from_days(days);
                    [u64::from(m), u64::from(d)]
                }
            },
            BlockingRule::InitialsBirthDateAnyOrder => {
                let last = |id: u32| names.get(id).as_bytes().last().copied().unwrap_or(0);
                let sex = if x.sex == 0 { NO_KEY } else { u64::from(x.sex) };
                [any_order(last(x.given), last(x.family)), sex]
            }
            _ => return None,
        })
    }

    /// Whether the rule's key holds the birth date or year.
    pub const fn uses_birth_date(self) -> bool {
        matches!(
            self,
            BlockingRule::GivenPrefixBirthDate
                | BlockingRule::FamilySoundBirthDate
                | BlockingRule::NameSoundsSwappedBirthDate
                | BlockingRule::NameSoundsBirthYear
                | BlockingRule::InitialsBirthDateAnyOrder
                | BlockingRule::BirthDatePostcode
                | BlockingRule::BirthDate
        )
    }
}

/// A record's finer key when it lacks the field the key comes from.
pub(crate) const NO_KEY: u64 = u64::MAX;
