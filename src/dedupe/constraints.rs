//! The constraints that keep a Fellegi-Sunter fit sane whatever fields an export has
//! (see `fellegi_sunter`, "Constraints: a fit that cannot collapse"): after each M-step a
//! field's `m` is reshaped so that its likelihood ratio `m / u` falls from the strongest
//! agreement level to disagreement, and no agreement level weighs against one person.

/// Floor on every probability of every class. A level EM never sees in a class would get an
/// infinite weight; the floor caps any one level at about +/-13 bits (1 : 10,000), so that no
/// single field can outvote all others.
pub const PROBABILITY_FLOOR: f64 = 1e-4;

/// [`monotone_ratios`], then no agreement level below `u`: a level before `disagreement`
/// (the first disagreement level, see [`Comparison::disagreement`](super::compare::Comparison::disagreement)) whose ratio `m / u` is
/// under 1 gets `m = u` (weight 0), the mass it lacks taken from the disagreement levels.
/// Agreeing on a field is then never evidence *against* one person, whatever EM saw (the
/// issue's first requirement of a sane fit).
pub(crate) fn sane_ratios(m: &mut [f64], u: &[f64], disagreement: usize) {
    monotone_ratios(m, u);
    let mut deficit = 0.0;
    for l in 0..disagreement {
        if m[l] < u[l] {
            deficit += u[l] - m[l];
            m[l] = u[l];
        }
    }
    // The disagreement levels give what they can, keeping their proportions, down to the
    // floor; the agreement levels above `u` give the rest, in proportion to their excess,
    // none below `u`. (Where nearly every pair agrees at some level, a register of one town,
    // the disagreement levels alone cannot give it.)
    let disagreeing: f64 = m[disagreement..].iter().sum();
    let given = deficit.min((disagreeing - PROBABILITY_FLOOR).max(0.0));
    if given > 0.0 {
        let keep = (disagreeing - given) / disagreeing;
        m[disagreement..].iter_mut().for_each(|x| *x *= keep);
    }
    deficit -= given;
    if deficit > 0.0 {
        let excess: f64 = (0..disagreement).map(|l| (m[l] - u[l]).max(0.0)).sum();
        let share = if excess > 0.0 {
            (deficit / excess).min(1.0)
        } else {
            0.0
        };
        for l in 0..disagreement {
            if m[l] > u[l] {
                m[l] -= (m[l] - u[l]) * share;
            }
        }
    }
    let total: f64 = m.iter().sum();
    m.iter_mut().for_each(|x| *x /= total);
}

/// Makes `m[l] / u[l]` non-increasing in `l` (levels run from strongest agreement to
/// disagreement) by pooling adjacent violators: within a pooled run `m` is proportional to
/// `u`, with the run's total `m` kept. This is the maximum-likelihood `m` under the
/// constraint, for fixed `u` (pool-adjacent-violators, Barlow et al. 1972).
pub(crate) fn monotone_ratios(m: &mut [f64], u: &[f64]) {
    // Runs as (first level, m total, u total).
    let mut runs: Vec<(usize, f64, f64)> = Vec::with_capacity(m.len());
    for l in 0..m.len() {
        runs.push((l, m[l], u[l]));
        while runs.len() >= 2 {
            let (_, m2, u2) = runs[runs.len() - 1];
            let (_, m1, u1) = runs[runs.len() - 2];
            if m1 * u2 >= m2 * u1 {
                break;
            }
            runs.pop();
            let last = runs.len() - 1;
            runs[last].1 = m1 + m2;
            runs[last].2 = u1 + u2;
        }
    }
    for (i, &(start, mt, ut)) in runs.iter().enumerate() {
        let end = runs.get(i + 1).map_or(m.len(), |r| r.0);
        for l in start..end {
            m[l] = mt * u[l] / ut;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_ratios_are_monotone_and_keep_mass() {
        let u = [0.1, 0.2, 0.3, 0.4];
        let mut m = [0.1, 0.5, 0.1, 0.3];
        monotone_ratios(&mut m, &u);
        let r: Vec<f64> = m.iter().zip(&u).map(|(a, b)| a / b).collect();
        assert!(r.windows(2).all(|w| w[0] >= w[1] - 1e-12), "{r:?}");
        assert!((m.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let want = [0.7, 0.2, 0.05, 0.05];
        let mut ok = want;
        monotone_ratios(&mut ok, &u);
        assert!(
            ok.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{ok:?}"
        );
    }

    /// A register of one town: nearly every random pair agrees at the `locality` level, so
    /// raising every agreement level to `u` needs more than the disagreement level holds.
    #[test]
    fn sane_ratios_stay_a_distribution_when_agreement_is_nearly_universal() {
        let u = [0.0001, 0.0001, 0.0005, 0.0093, 0.99];
        let u = {
            let mut v = u.to_vec();
            v.push(0.0);
            let t: f64 = v.iter().sum();
            v.iter_mut().for_each(|x| *x /= t);
            v[5] = 0.0001;
            let t: f64 = v.iter().sum();
            v.iter().map(|x| x / t).collect::<Vec<f64>>()
        };
        let mut m = vec![0.5, 0.1, 0.1, 0.1, 0.1, 0.1];
        sane_ratios(&mut m, &u, 5);
        assert!(m.iter().all(|&x| x > 0.0), "{m:?}");
        assert!((m.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{m:?}");
        for l in 0..5 {
            assert!(
                m[l] >= u[l] * (1.0 - 1e-9),
                "level {l}: {m:?} against {u:?}"
            );
        }
    }

    /// A disagreement level rarer among duplicates than among random pairs (the same
    /// district, after a move across the country) stays below `u`: lifting it would take its
    /// mass from `different`. As a weak agreement level, it is lifted to `u` and `different`
    /// pays: 0.05 falls to the floor, and the levels above `u` give the remaining 0.2001 in
    /// proportion to their excess (0.79 and 0.01).
    #[test]
    fn disagreement_levels_are_not_lifted_to_u() {
        let u = [0.01, 0.09, 0.3, 0.6];
        let em = [0.8, 0.1, 0.05, 0.05];
        let mut m = em;
        sane_ratios(&mut m, &u, 2);
        assert!(
            m.iter().zip(em).all(|(a, b)| (a - b).abs() < 1e-12),
            "{m:?}"
        );
        let mut lifted = em;
        sane_ratios(&mut lifted, &u, 3);
        let share = 0.2001 / 0.8;
        let want = [
            0.8 - 0.79 * share,
            0.1 - 0.01 * share,
            0.3,
            PROBABILITY_FLOOR,
        ];
        assert!(
            lifted.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
            "{lifted:?} against {want:?}"
        );
    }
}
