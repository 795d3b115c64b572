//! Jaro-Winkler similarity on bytes: the string metric of the name and street comparisons
//! ([`super::compare`]), which runs on most candidate pairs and so is written for the short
//! ASCII keys that normalised names and streets are.

/// Jaro-Winkler similarity, equal to `strsim::jaro_winkler` to the bit (a proptest holds it).
///
/// Two ASCII texts of at most 64 bytes (normalised names and street keys nearly always are)
/// are compared here on bytes, with the matched positions of each side kept in a `u64`:
/// `strsim` decodes UTF-8 and counts characters (a fifth of a 1,000,000-voter dedupe once
/// went to that), allocates its match flags on every call and scans each window from the
/// start of the other text. Other texts go to `strsim`.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii() && x.len() <= 64 && y.len() <= 64) {
        return strsim::jaro_winkler(a, b);
    }
    let jaro = short_jaro(x, y);
    if jaro > 0.7 {
        // Winkler's boost for a common prefix of up to four characters, scaling 0.1.
        let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
        jaro + 0.1 * prefix as f64 * (1.0 - jaro)
    } else {
        jaro
    }
}

/// The Jaro similarity of two byte strings of at most 64 bytes: a byte of `x` matches the
/// first unmatched equal byte of `y` within `max(len) / 2 - 1` positions, and half the
/// matched bytes out of order are the transpositions.
fn short_jaro(x: &[u8], y: &[u8]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return if x.len() == y.len() { 1.0 } else { 0.0 };
    }
    let window = (x.len().max(y.len()) / 2).saturating_sub(1);
    let (mut x_matched, mut y_matched) = (0u64, 0u64);
    for (i, &c) in x.iter().enumerate() {
        let (from, to) = (i.saturating_sub(window), y.len().min(i + window + 1));
        let found = (from..to).find(|&j| y[j] == c && y_matched & (1 << j) == 0);
        if let Some(j) = found {
            x_matched |= 1 << i;
            y_matched |= 1 << j;
        }
    }
    let matches = x_matched.count_ones() as usize;
    if matches == 0 {
        return 0.0;
    }
    let mut out_of_order = 0;
    let (mut xs, mut ys) = (x_matched, y_matched);
    while xs != 0 {
        let (i, j) = (xs.trailing_zeros() as usize, ys.trailing_zeros() as usize);
        out_of_order += usize::from(x[i] != y[j]);
        xs &= xs - 1;
        ys &= ys - 1;
    }
    let transpositions = out_of_order / 2;
    ((matches as f64 / x.len() as f64)
        + (matches as f64 / y.len() as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0
}
