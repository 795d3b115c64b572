//! The canonical register model: the one layout every stage of rollaudit works on.
//!
//! Electoral bodies export their registers in dozens of layouts (see `../shared/DOMAIN.md`);
//! a [`Profile`](crate::profile::Profile) maps each of them onto the fields below, once, at
//! load time. Nothing after the loader knows about source layouts.
//!
//! Every field is optional except `voter_id`. A stage that needs a field the input lacks
//! reports itself as skipped (see [`Field::is_present_in`]); it never silently passes.
//!
//! This module holds names and kinds only: no I/O and no polars types beyond [`DataType`].

use polars::prelude::{DataType, TimeUnit};

/// A field of the canonical register model, in canonical column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    VoterId,
    NationalId,
    GivenName,
    MiddleName,
    FamilyName,
    NameSuffix,
    BirthDate,
    BirthYear,
    Sex,
    AddressLine,
    HouseNumber,
    Street,
    Unit,
    Locality,
    Postcode,
    Region,
    District,
    Precinct,
    RegistrationDate,
    Status,
    StatusReason,
    Party,
    Phone,
    Email,
    ChangedAt,
    ChangedBy,
}

/// How a field's values are stored and parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text, trimmed; empty means missing.
    Text,
    /// A calendar date, stored as an Arrow `Date` (days since 1970-01-01).
    Date,
    /// A year, stored as `Int32`.
    Year,
    /// A timestamp without zone, stored as an Arrow `Datetime` in milliseconds.
    Timestamp,
    /// Text restricted to the four [`Status`] names after value mapping.
    Status,
}

impl Field {
    /// All fields, in canonical column order.
    pub const ALL: [Field; 26] = [
        Field::VoterId,
        Field::NationalId,
        Field::GivenName,
        Field::MiddleName,
        Field::FamilyName,
        Field::NameSuffix,
        Field::BirthDate,
        Field::BirthYear,
        Field::Sex,
        Field::AddressLine,
        Field::HouseNumber,
        Field::Street,
        Field::Unit,
        Field::Locality,
        Field::Postcode,
        Field::Region,
        Field::District,
        Field::Precinct,
        Field::RegistrationDate,
        Field::Status,
        Field::StatusReason,
        Field::Party,
        Field::Phone,
        Field::Email,
        Field::ChangedAt,
        Field::ChangedBy,
    ];

    /// The canonical column name.
    pub const fn name(self) -> &'static str {
        match self {
            Field::VoterId => "voter_id",
            Field::NationalId => "national_id",
            Field::GivenName => "given_name",
            Field::MiddleName => "middle_name",
            Field::FamilyName => "family_name",
            Field::NameSuffix => "name_suffix",
            Field::BirthDate => "birth_date",
            Field::BirthYear => "birth_year",
            Field::Sex => "sex",
            Field::AddressLine => "address_line",
            Field::HouseNumber => "house_number",
            Field::Street => "street",
            Field::Unit => "unit",
            Field::Locality => "locality",
            Field::Postcode => "postcode",
            Field::Region => "region",
            Field::District => "district",
            Field::Precinct => "precinct",
            Field::RegistrationDate => "registration_date",
            Field::Status => "status",
            Field::StatusReason => "status_reason",
            Field::Party => "party",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::ChangedAt => "changed_at",
            Field::ChangedBy => "changed_by",
        }
    }

    /// The field with this canonical name, if any.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Position in [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub const fn kind(self) -> FieldKind {
        match self {
            Field::BirthDate | Field::RegistrationDate => FieldKind::Date,
            Field::BirthYear => FieldKind::Year,
            Field::ChangedAt => FieldKind::Timestamp,
            Field::Status => FieldKind::Status,
            _ => FieldKind::Text,
        }
    }

    /// The Arrow type of the field's column in a loaded snapshot.
    pub fn dtype(self) -> DataType {
        match self.kind() {
            FieldKind::Text | FieldKind::Status => DataType::String,
            FieldKind::Date => DataType::Date,
            FieldKind::Year => DataType::Int32,
            FieldKind::Timestamp => DataType::Datetime(TimeUnit::Milliseconds, None),
        }
    }
}

/// The registration status after mapping. Source codes (NC's `A/I/R/D/S`, Ohio's words, ...)
/// are mapped onto these four by the profile's value map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Inactive,
    Removed,
    Pending,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Active,
        Status::Inactive,
        Status::Removed,
        Status::Pending,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Removed => "removed",
            Status::Pending => "pending",
        }
    }

    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Name of the per-row fingerprint column (`UInt64`) in a loaded snapshot.
pub const FINGERPRINT_COLUMN: &str = "_fingerprint";
/// Name of the source line number column (`UInt64`) in a loaded snapshot: where each row came from.
pub const LINE_COLUMN: &str = "_line";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_follow_canonical_order() {
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i);
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(Field::from_name("ncid"), None);
    }

    #[test]
    fn statuses_are_the_four_documented_ones() {
        let names: Vec<_> = Status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["active", "inactive", "removed", "pending"]);
    }
}
