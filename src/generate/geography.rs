//! The synthetic country: regions > districts > precincts of very unequal sizes, the streets
//! of each precinct, localities, postcodes, party leanings and the operators who edit records.
//!
//! Real electoral geography is lumpy: a county of 10,000 voters sits beside one of a million,
//! and precincts inside one county range from a few hundred voters to several thousand. Sizes
//! are therefore drawn from lognormal weights, so that rate comparisons between areas face the
//! small-denominator noise a detector meets in practice.

use super::names::tables;
use super::rng::{AliasTable, Rng, Stream};

/// Average registered voters per precinct. US precincts average about 1,100 registered voters
/// (EAC EAVS 2020: ~176,000 precincts, ~210M registrants); a smaller average keeps enough
/// precincts for rate statistics in the 20,000-voter sample.
const VOTERS_PER_PRECINCT: usize = 500;
/// Fewest precincts, so that a tiny register still has peers to compare.
const MIN_PRECINCTS: usize = 12;
/// Log-standard-deviation of precinct weights: the 95th-percentile precinct is about 14 times
/// the 5th (exp(2 * 1.645 * 0.8)), the spread of precinct sizes in county voter files.
const PRECINCT_SIZE_SIGMA: f64 = 0.8;
/// Log-standard-deviation of district weights (counties differ even more than precincts, but
/// a district is a sum of precincts, so its own weight needs less spread).
const DISTRICT_SIZE_SIGMA: f64 = 0.7;
/// Registered voters per street segment in a residential precinct (about 25 households).
const VOTERS_PER_STREET: usize = 60;
/// Party codes as North Carolina's file spells them (DEM, REP, unaffiliated, LIB, GRE).
pub(crate) const PARTIES: [&str; 5] = ["DEM", "REP", "UNA", "LIB", "GRE"];
/// Baseline party logits: NC registration 2024 is roughly DEM 31%, REP 30%, UNA 37%, LIB 0.7%,
/// GRE 0.1%; exp() of these logits reproduces those shares.
const PARTY_LOGITS: [f64; 5] = [-0.18, -0.21, 0.0, -4.0, -5.6];
/// Spread of the DEM-vs-REP lean between districts (logit units): an urban district can be
/// 70/30 one way and a rural one 30/70 the other.
const DISTRICT_LEAN_SIGMA: f64 = 0.8;
/// Election-office operators per district (a county office has a handful of clerks).
const OPERATORS_PER_DISTRICT: usize = 3;

#[derive(Clone, Debug)]
pub(crate) struct District {
    pub code: String,
    pub region: u32,
    /// Cumulative party shares (last entry 1.0), see [`PARTY_LOGITS`].
    pub party_cdf: [f64; 5],
    pub precincts: Vec<u32>,
    /// Operators (indexes into [`Geography::operators`]) of this district's office.
    pub operators: Vec<u16>,
}

#[derive(Clone, Debug)]
pub(crate) struct Precinct {
    /// The current code; redistricting rewrites it.
    pub code: String,
    pub district: u32,
    pub locality: String,
    pub postcode: String,
    /// Streets of this precinct: `first_street..first_street + streets`.
    pub first_street: u32,
    pub streets: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Street {
    pub name: String,
    pub precinct: u32,
    /// House numbers run 1..=max_house.
    pub max_house: u16,
}

#[derive(Clone, Debug)]
pub(crate) struct Geography {
    pub regions: Vec<String>,
    pub districts: Vec<District>,
    pub precincts: Vec<Precinct>,
    pub streets: Vec<Street>,
    pub precinct_table: AliasTable,
    pub precinct_weights: Vec<f64>,
    /// Operator account names; the last one is the batch account `SYSTEM`.
    pub operators: Vec<String>,
}

/// Index of the batch account in [`Geography::operators`] (always the last operator).
pub(crate) fn system_operator(geo: &Geography) -> u16 {
    (geo.operators.len() - 1) as u16
}

/// Smallest and largest area weight relative to the mean: no precinct of a handful of voters,
/// none holding a fifth of a small register.
const WEIGHT_RANGE: (f64, f64) = (0.1, 8.0);

fn lognormal_weights(rng: &mut Rng, n: usize, sigma: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            rng.lognormal_mean_one(sigma)
                .clamp(WEIGHT_RANGE.0, WEIGHT_RANGE.1)
        })
        .collect()
}

/// Assigns `n` children to `parents` groups by weight, each parent getting at least one.
fn assign(rng: &mut Rng, n: usize, weights: &[f64]) -> Vec<u32> {
    let table = AliasTable::new(weights);
    (0..n)
        .map(|i| {
            if i < weights.len() {
                i as u32
            } else {
                table.draw(rng) as u32
            }
        })
        .collect()
}

fn party_cdf(lean: f64) -> [f64; 5] {
    let mut logits = PARTY_LOGITS;
    logits[0] += lean / 2.0;
    logits[1] -= lean / 2.0;
    let exp: Vec<f64> = logits.iter().map(|l| l.exp()).collect();
    let total: f64 = exp.iter().sum();
    let mut cdf = [0.0; 5];
    let mut acc = 0.0;
    for (c, e) in cdf.iter_mut().zip(&exp) {
        acc += e / total;
        *c = acc;
    }
    cdf[4] = 1.0;
    cdf
}

impl Geography {
    /// Builds the country for a register of about `voters` voters.
    pub(crate) fn build(seed: u64, voters: usize) -> Geography {
        let mut rng = Rng::keyed(seed, Stream::Geography, 0, 0);
        let n_precincts = (voters / VOTERS_PER_PRECINCT).max(MIN_PRECINCTS);
        // Districts ~ 1.2 sqrt(precincts) and regions ~ sqrt(districts): 40 precincts give 8
        // districts in 3 regions; 20,000 precincts give 170 districts in 13 regions.
        let n_districts = ((n_precincts as f64).sqrt() * 1.2).round().max(3.0) as usize;
        let n_regions = (n_districts as f64).sqrt().round().max(2.0) as usize;

        let regions: Vec<String> = (1..=n_regions).map(|r| format!("R{r:02}")).collect();
        let district_weights = lognormal_weights(&mut rng, n_districts, DISTRICT_SIZE_SIGMA);
        let region_of = assign(&mut rng, n_districts, &vec![1.0; n_regions]);
        let region_lean: Vec<f64> = (0..n_regions).map(|_| rng.normal() * 0.4).collect();
        let mut operators = Vec::new();
        let mut districts: Vec<District> = (0..n_districts)
            .map(|d| {
                let lean = region_lean[region_of[d] as usize] + rng.normal() * DISTRICT_LEAN_SIGMA;
                let ops = (0..OPERATORS_PER_DISTRICT)
                    .map(|k| {
                        operators.push(format!("OP{:03}{}", d + 1, (b'A' + k as u8) as char));
                        (operators.len() - 1) as u16
                    })
                    .collect();
                District {
                    code: format!("D{:03}", d + 1),
                    region: region_of[d],
                    party_cdf: party_cdf(lean),
                    precincts: Vec::new(),
                    operators: ops,
                }
            })
            .collect();
        operators.push("SYSTEM".to_string());

        let precinct_weights = lognormal_weights(&mut rng, n_precincts, PRECINCT_SIZE_SIGMA);
        let district_of = assign(&mut rng, n_precincts, &district_weights);
        let total_weight: f64 = precinct_weights.iter().sum();
        let names = tables();
        let district_towns: Vec<Vec<String>> = (0..n_districts)
            .map(|_| {
                let k = 1 + rng.below(3) as usize;
                (0..k).map(|_| rng.pick(&names.towns).clone()).collect()
            })
            .collect();
        let suffixes = names.street_suffixes();
        let mut precincts = Vec::with_capacity(n_precincts);
        let mut streets = Vec::new();
        for (p, &d) in district_of.iter().enumerate() {
            let district = &mut districts[d as usize];
            district.precincts.push(p as u32);
            let expected = voters as f64 * precinct_weights[p] / total_weight;
            let n_streets = 3 + (expected as usize) / VOTERS_PER_STREET;
            let first_street = streets.len() as u32;
            let mut used = std::collections::HashSet::new();
            while used.len() < n_streets {
                let name = format!("{} {}", rng.pick(&names.streets), rng.pick(suffixes));
                let name = if used.contains(&name) {
                    format!(
                        "{} {}",
                        rng.pick(&names.surnames[..200]),
                        rng.pick(suffixes)
                    )
                } else {
                    name
                };
                if used.insert(name.clone()) {
                    streets.push(Street {
                        name,
                        precinct: p as u32,
                        max_house: 20 + rng.below(1980) as u16,
                    });
                }
            }
            precincts.push(Precinct {
                code: format!("{}-{:02}", district.code, district.precincts.len()),
                district: d,
                locality: rng.pick(&district_towns[d as usize]).clone(),
                postcode: format!("{:05}", 10_000 + (d as usize * 211 + p * 7) % 89_990),
                first_street,
                streets: n_streets as u32,
            });
        }
        Geography {
            regions,
            districts,
            precincts,
            streets,
            precinct_table: AliasTable::new(&precinct_weights),
            precinct_weights,
            operators,
        }
    }

    pub(crate) fn district_of_street(&self, street: u32) -> u32 {
        self.precincts[self.streets[street as usize].precinct as usize].district
    }

    pub(crate) fn precinct_of_street(&self, street: u32) -> u32 {
        self.streets[street as usize].precinct
    }

    /// A random street of a precinct.
    pub(crate) fn street_in(&self, rng: &mut Rng, precinct: u32) -> u32 {
        let p = &self.precincts[precinct as usize];
        p.first_street + rng.below(u64::from(p.streets)) as u32
    }

    /// A random party code index following the district's shares.
    pub(crate) fn draw_party(&self, rng: &mut Rng, district: u32) -> u8 {
        let u = rng.unit();
        let cdf = &self.districts[district as usize].party_cdf;
        cdf.iter().position(|&c| u < c).unwrap_or(4) as u8
    }

    /// An operator of the district's office.
    pub(crate) fn draw_operator(&self, rng: &mut Rng, district: u32) -> u16 {
        *rng.pick(&self.districts[district as usize].operators)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_is_populated_and_sizes_are_unequal() {
        let geo = Geography::build(1, 20_000);
        assert_eq!(geo.precincts.len(), 40);
        assert!(geo.districts.iter().all(|d| !d.precincts.is_empty()));
        let (min, max) = geo
            .precinct_weights
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &w| (lo.min(w), hi.max(w)));
        assert!(max / min > 5.0, "precinct weights {min}..{max}");
        let codes: std::collections::HashSet<_> = geo.precincts.iter().map(|p| &p.code).collect();
        assert_eq!(codes.len(), geo.precincts.len());
        assert_eq!(geo.operators.last().map(String::as_str), Some("SYSTEM"));
    }

    #[test]
    fn party_shares_sum_to_one_and_follow_the_lean() {
        let left = party_cdf(1.5);
        let right = party_cdf(-1.5);
        assert_eq!(left[4], 1.0);
        assert!(left[0] > right[0]);
    }
}
