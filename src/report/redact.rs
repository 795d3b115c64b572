//! `--redact`: keyed hashes in place of names, addresses, phones and emails, so that a report
//! can travel to people who must not see personal data.
//!
//! A value becomes `h:` and the first 16 hex digits of HMAC-SHA256(key, value) (RFC 2104;
//! 64 bits: collisions among a national register's distinct values are negligible). The same
//! value hashes alike across runs with the same key, so two redacted reports can still be
//! compared; without the key the hash cannot be reversed by guessing names (ERIC hashes DOB and
//! SSN4 the same way before matching, DOMAIN.md). The key comes from a file or the
//! `ROLLAUDIT_REDACT_KEY` environment variable; the binary refuses `--redact` without one.

use sha2::{Digest, Sha256};

use crate::findings::{Finding, Scope};
use crate::model::Field;

/// Fields whose values are personal data and are hashed.
pub const REDACTED_FIELDS: [Field; 11] = [
    Field::NationalId,
    Field::GivenName,
    Field::MiddleName,
    Field::FamilyName,
    Field::AddressLine,
    Field::HouseNumber,
    Field::Street,
    Field::Unit,
    Field::Phone,
    Field::Email,
    Field::BirthDate,
];

/// Finding fact names whose values may carry personal data.
const PERSONAL_FACT_WORDS: [&str; 5] = ["name", "address", "phone", "email", "value"];

/// HMAC-SHA256 tokens under one key.
#[derive(Clone)]
pub struct Redactor {
    inner_key: [u8; 64],
    outer_key: [u8; 64],
}

const BLOCK: usize = 64;

impl Redactor {
    pub fn new(key: &[u8]) -> Redactor {
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner_key = [0u8; BLOCK];
        let mut outer_key = [0u8; BLOCK];
        for i in 0..BLOCK {
            inner_key[i] = k[i] ^ 0x36;
            outer_key[i] = k[i] ^ 0x5c;
        }
        Redactor {
            inner_key,
            outer_key,
        }
    }

    fn hmac(&self, message: &[u8]) -> [u8; 32] {
        let inner = Sha256::new()
            .chain_update(self.inner_key)
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(self.outer_key)
            .chain_update(inner)
            .finalize()
            .into()
    }

    /// The token for a value.
    pub fn token(&self, value: &str) -> String {
        let mac = self.hmac(value.as_bytes());
        let hex: String = mac[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("h:{hex}")
    }

    /// The finding with personal values replaced: the scope value of address, phone and
    /// email findings, and facts that name a person or an address.
    pub fn finding(&self, f: &Finding) -> Finding {
        let mut f = f.clone();
        if matches!(f.scope, Scope::Address | Scope::Phone | Scope::Email) {
            f.scope_value = self.token(&f.scope_value);
        }
        for (name, value) in f.evidence.facts.iter_mut() {
            if PERSONAL_FACT_WORDS.iter().any(|w| name.contains(w)) {
                *value = self.token(value);
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let r = Redactor::new(b"Jefe");
        assert_eq!(
            hex(&r.hmac(b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_with_a_long_key_matches_rfc_4231_test_case_6() {
        let r = Redactor::new(&[0xaa; 131]);
        assert_eq!(
            hex(&r.hmac(b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_are_stable_per_key() {
        let a = Redactor::new(b"k1");
        assert_eq!(a.token("SMITH"), Redactor::new(b"k1").token("SMITH"));
        assert_ne!(a.token("SMITH"), Redactor::new(b"k2").token("SMITH"));
        assert!(a.token("SMITH").starts_with("h:") && !a.token("SMITH").contains("SMITH"));
    }
}
