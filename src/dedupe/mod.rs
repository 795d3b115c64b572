//! Duplicate registrations: records of one register that are one person, found by
//! probabilistic record linkage, with the evidence for each match and an estimate of how many
//! "matches" on name and birth date alone chance would produce.
//!
//! A register must hold each eligible person once, but name plus birth date is not an
//! identity: Interstate Crosscheck flagged 7.2M "duplicates" among 98M records, most of them
//! different people born on the same day (see `../shared/DOMAIN.md`). This module finds real
//! duplicates despite typos, nicknames, swapped names and moves, keeps households (twins,
//! Jr/Sr) apart, and reports the coincidence rate beside its findings.
//!
//! # Pipeline
//! 1. [`records`]: identity fields normalised once per snapshot ([`crate::normalize`],
//!    [`phonetic`]) into integer columns.
//! 2. [`exact`]: the exact pass, same normalised name and birth date or same national id,
//!    reported on its own (and alone with `dedupe --exact-only`).
//! 3. [`blocking`]: candidate pairs from several cheap passes, each capped
//!    ([`DedupeConfig::max_block_size`]), counted per rule; broad passes (a birth date alone,
//!    a name in an area) only where they stay within a budget of pairs per record; the pair
//!    completeness estimated from the matches.
//! 4. [`compare`]: each candidate pair reduced to agreement levels per field (a
//!    [`Pattern`]), all of them in memory order by [`sweep`].
//! 5. [`fellegi_sunter`]: one person, one household and unrelated people, fitted by EM on the
//!    patterns (no labels; `m` fixed at documented error rates for birth date and national
//!    id), weights in bits, term-frequency adjustment on exact name matches, a match
//!    probability per pair. The fit uses only the fields the export has and cannot
//!    collapse: absent or constant fields are dropped, the household class is kept only
//!    when the data identify it (else two classes), agreement never weighs against a match,
//!    and a name whose `m` collapses falls back to its prior; `dedupe.json` says which.
//! 6. Household guards (below), then [`cluster`]: connected components of the pairs at or
//!    above [`DedupeConfig::threshold`], with ids derived from their members.
//! 7. [`chance`]: the birthday-problem estimate for the exact name + birth-date rule.
//!
//! [`link`] runs steps 1 and 3 to 5 across two files: a death registry against the register.
//! Where the candidate pairs would not fit in memory at once ([`DedupeConfig::pairs_per_part`],
//! sized from `--memory-limit`), steps 3 to 5 run a range of first rows at a time, twice (to
//! count the patterns, then to score), with the same result ([`scoring`]); the first pass
//! keeps its parts on disk for the second ([`spill`]).
//!
//! # Households are not duplicates
//! Relatives share surnames, addresses, phones and emails. The model learns that a given
//! name or birth date that disagrees outright is strong evidence against identity, and two
//! documented guards make the household patterns impossible to match whatever the weights:
//! - [`Guard::GenerationSuffix`]: both records carry a name suffix and they differ (JR/SR,
//!   II/III): the register itself says they are two generations.
//! - [`Guard::TwinPattern`]: same family name and full birth date, and given names either
//!   `different` (not exact, close, nickname or sound-alike) or not exact with the sexes
//!   differing (MARIO and MARIA, DANIEL and DANIELLE): twins, not a typo. A duplicate would
//!   need a given-name error and a sex error at once. Also, whatever the given names, when
//!   both records carry national ids that differ beyond a keying error: twins have one each
//!   (at 1,000,000 generated voters two pairs of twins named CAROL and CAROL, KATHERINE and
//!   KATHRYN, at one address, were merged until this), or middle names that differ outright
//!   (not one the other's initial or a close spelling): twins are given two names each
//!   (MARIA NICOLE and MARY MILYN BAKER, JOHN JOE and JOHN ADAM, at 1,000,000 generated
//!   voters, were merged until this). Not when both records carry one
//!   national id. Not either in a register whose own pairs show no
//!   households although it has an address, phone or email (the household class is not
//!   identified), see `households_possible`: there the pattern is a duplicate whose given
//!   name was replaced as often as anything (FEBRL).
//! - [`Guard::HouseholdIds`]: same family name at the same address, and national ids that
//!   differ beyond a keying error: a father and son without a suffix, two namesakes of one
//!   household, each with an id of their own. Without birth dates these pairs had nothing else
//!   to tell them from a duplicate: at 1,000,000 generated voters without birth dates, 74 of
//!   the 253 false matches were such pairs, and none of the 10,000 true pairs has two
//!   different ids. Only where the register shows households (as the twin guard): a
//!   duplicate's id is mistyped beyond a keying error in 5-9% of FEBRL's true pairs, a
//!   benchmark without households.
//! - [`Guard::Generations`]: birth dates that differ outright and at least
//!   [`GENERATION_YEARS`] apart: a parent and a child who share a name (a Jr without the
//!   suffix). At 1,000,000 generated voters, with the threshold at 0.65, 29 of the 89 false
//!   matches were such pairs and no true one. Only where the register shows households:
//!   FEBRL, which has none, corrupts 5% of its duplicates' birth dates by decades.
//! - [`Guard::KeptApart`]: a match that would put two records another guard keeps apart
//!   into one cluster, through a third record that matches both (CAROL and CAROL, twins
//!   without ids, both matched to a duplicate of one of them). Matches join clusters
//!   strongest first; the weaker of the two is refused (see [`cluster`]).
//! - [`Guard::Namesake`]: an export with nothing personal to compare (no birth date or
//!   year, national id, middle name, sex or suffix): one name at one place is a duplicate or
//!   two people of one household with one name, and such an export cannot say which. Every
//!   pair is listed for review, none clustered; not where the register shows no households.
//!
//! # Known limits
//! Evidence is weighed against the whole register (see [`fellegi_sunter`]), so the same
//! pattern is weaker evidence in a larger register: at 1,000,000 voters a duplicate that moved
//! and has a mistyped given *and* family name is about as likely as a coincidence. Records
//! without a birth date that also moved are candidates only through the broad name rules,
//! which in a register of a million keep only their rarer keys: on generated registers they
//! are most of the duplicates missed. Without birth dates at
//! all, two records with one name at one address are a duplicate or a father and son
//! without a suffix; the model leaves many of them in the review band.
//!
//! # Architecture invariants
//! - Works on one [`Snapshot`]; never reads files, never prints. Results are plain data
//!   ([`DedupeResult`]); `report::dedupe` writes them.
//! - Same snapshot and config, same result, on any number of threads: every parallel step
//!   collects in a fixed order and the random pairs come from [`DedupeConfig::seed`].

pub mod blocking;
pub mod chance;
pub mod cluster;
pub mod compare;
mod completeness;
mod constraints;
pub mod evaluate;
pub mod exact;
pub mod fellegi_sunter;
mod interner;
mod jaro;
mod keys;
mod keysort;
mod letters;
pub mod link;
mod memo;
mod pages;
pub mod phonetic;
mod records;
mod scoring;
mod spill;
pub mod stages;
mod sweep;
mod unrelated;

use crate::model::Field;
use crate::snapshot::Snapshot;

pub use blocking::{BlockingRule, BlockingStat};
pub use chance::ChanceEstimate;
pub use cluster::Cluster;
pub use compare::{Comparison, Pattern};
pub use completeness::Completeness;
pub use evaluate::{evaluate, PairScores};
pub use exact::{exact_duplicates, ExactDuplicates};
pub use fellegi_sunter::Model;
pub use link::{link, Linkage};

use blocking::Blocks;
use compare::{CLOSE, DIFFERENT_DATE, DIFFERENT_ID, DIFFERENT_MIDDLE, DIFFERENT_NAME};
use records::{Records, NO_DATE};
use scoring::{fit_and_score, Scored};

/// The fields deduplication reads (besides `voter_id`), for commands that load only these
/// from an ingested file. A field the model reads but this list lacks would look missing to
/// it; `tests/dedupe.rs` checks that a projected load gives the whole load's artefacts.
pub const FIELDS: [Field; 17] = [
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
    Field::District,
    Field::Phone,
    Field::Email,
];

/// Default match-probability threshold: posterior odds of about 2:1 (a match weight of
/// +0.9 bits) against every other pair of the register; the lowest threshold whose matched
/// pairs stay at least 99% true duplicates on the generated registers of 1,000,000 and
/// 10,000,000 voters (seed 42, 2026-12-05, pairs before clustering and without the
/// generation guard: 99.1% at both and recall 97.1% and 95.0%, where 0.6 gave 99.0%; with
/// every guard, clusters scored: 99.3% and 99.2%, recall 97.1% and 95.0%). The probabilities are about calibrated there (at 10,000,000, 58% of the pairs
/// between 0.5 and 0.8 were true), so below 0.65 a match is nearly as likely wrong as right.
/// Against the 0.8 (odds 4:1) used until then, 0.65 gained F1 on every independent set:
/// FEBRL 1-4 with and without ids, and the generated register without birth dates, sex,
/// phone and email, or address (pairwise, from `duplicates.csv`). Pairs between the review
/// threshold and this one are listed for review, never clustered. `tests/dedupe` checks
/// precision and recall floors per variant.
pub const DEFAULT_THRESHOLD: f64 = 0.65;

/// Pairs at or above this probability but below the threshold are kept for review (listed,
/// not clustered): odds of at least 1:1.
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 0.5;

/// Largest block a blocking pass expands: at most ~500,000 pairs, about a tenth of a second of
/// scoring. A larger block is a key too common to tell its records apart; it is skipped and
/// reported (see [`blocking`]).
pub const DEFAULT_MAX_BLOCK_SIZE: usize = 1_000;

/// Random record pairs that measure `u` for the levels not counted exactly (see
/// [`unrelated`]): 100,000 pairs estimate a level frequency of 1% to within about +/-0.03%
/// (one standard error).
pub const DEFAULT_RANDOM_PAIRS: usize = 100_000;

/// EM iterations at most; EM on distinct patterns converges in a few dozen.
pub const DEFAULT_MAX_EM_ITERATIONS: usize = 200;

/// Thresholds and passes of the deduplication.
#[derive(Clone, PartialEq)]
pub struct DedupeConfig {
    /// Match probability at or above which a pair is a duplicate ([`DEFAULT_THRESHOLD`]).
    pub threshold: f64,
    /// Probability at or above which a pair is listed for review.
    pub review_threshold: f64,
    /// Blocks larger than this are skipped and reported.
    pub max_block_size: usize,
    /// Blocking passes, in crediting order.
    pub rules: Vec<BlockingRule>,
    pub random_pairs: usize,
    pub max_em_iterations: usize,
    /// Seed of the random pairs (any fixed value gives reproducible results).
    pub seed: u64,
    /// Term-frequency adjustment of exact name matches.
    pub term_frequency: bool,
    /// Candidate pairs (as emitted by the blocking passes, before a pair found by several is
    /// counted once) made and compared at once; more are compared in parts, with the same
    /// result ([`pairs_per_part_within`] sizes it to a memory budget).
    pub pairs_per_part: usize,
}

/// Every field but [`DedupeConfig::pairs_per_part`], which follows the machine's memory and
/// changes how the work is done, never its result: an audit's `configuration_sha256` is the
/// digest of this text, and must not change with the memory free when it ran.
impl std::fmt::Debug for DedupeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupeConfig")
            .field("threshold", &self.threshold)
            .field("review_threshold", &self.review_threshold)
            .field("max_block_size", &self.max_block_size)
            .field("rules", &self.rules)
            .field("random_pairs", &self.random_pairs)
            .field("max_em_iterations", &self.max_em_iterations)
            .field("seed", &self.seed)
            .field("term_frequency", &self.term_frequency)
            .finish()
    }
}

/// Bytes a candidate pair holds while its part is compared: its code in the cross-rule sort (8)
/// and the sorted pair (8), then the pair (8) and its packed pattern (4); the rest is the
/// vectors' spare capacity.
pub const BYTES_PER_PAIR: u64 = 24;

/// The [`DedupeConfig::pairs_per_part`] that keeps a part's pairs within a quarter of `budget`
/// bytes: the rest is the snapshot, the normalised records and their packed copy.
pub fn pairs_per_part_within(budget: u64) -> usize {
    pairs_per_part_in(budget / 4)
}

/// The [`DedupeConfig::pairs_per_part`] that keeps a part's pairs within `bytes`.
pub fn pairs_per_part_in(bytes: u64) -> usize {
    usize::try_from(bytes / BYTES_PER_PAIR)
        .unwrap_or(usize::MAX)
        .max(1)
}

impl Default for DedupeConfig {
    fn default() -> Self {
        DedupeConfig {
            threshold: DEFAULT_THRESHOLD,
            review_threshold: DEFAULT_REVIEW_THRESHOLD,
            max_block_size: DEFAULT_MAX_BLOCK_SIZE,
            rules: BlockingRule::DEFAULT.to_vec(),
            random_pairs: DEFAULT_RANDOM_PAIRS,
            max_em_iterations: DEFAULT_MAX_EM_ITERATIONS,
            seed: 0x6465_6475_7065, // "dedupe"
            term_frequency: true,
            pairs_per_part: usize::MAX,
        }
    }
}

/// Why deduplication could not run.
#[derive(Debug, thiserror::Error)]
pub enum DedupeError {
    #[error("the snapshot has {rows} rows; deduplication handles at most {max} per run")]
    TooManyRows { rows: usize, max: usize },
    #[error("the snapshot has neither given_name nor family_name: nothing to match people on")]
    NoNames,
    #[error("invalid dedupe configuration: {0}")]
    InvalidConfig(&'static str),
}

/// A rule that vetoes a match whatever its probability (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guard {
    GenerationSuffix,
    TwinPattern,
    HouseholdIds,
    Generations,
    Namesake,
    /// A match that would put two records another guard keeps apart into one cluster,
    /// through this pair (set when clustering, see [`cluster`]).
    KeptApart,
}

impl Guard {
    pub const fn name(self) -> &'static str {
        match self {
            Guard::GenerationSuffix => "generation_suffix",
            Guard::TwinPattern => "twin_pattern",
            Guard::HouseholdIds => "household_ids",
            Guard::Generations => "generations",
            Guard::Namesake => "namesake",
            Guard::KeptApart => "kept_apart",
        }
    }

    /// The guard that vetoes `p`, if any. `households` says whether the register may hold
    /// households (twins, namesakes): not when its own pairs show none (see
    /// `households_possible`); `personal` whether the model compares any of
    /// [`PERSONAL_FIELDS`]; `years_apart` how far apart the two birth years are, when both
    /// are known.
    fn of(p: Pattern, households: bool, personal: bool, years_apart: Option<u32>) -> Option<Guard> {
        let given = p.level(Comparison::GivenName);
        let family = p.level(Comparison::FamilyName);
        if p.level(Comparison::NameSuffix) == 1 {
            Some(Guard::GenerationSuffix)
        } else if households
            && !p.swapped()
            && p.level(Comparison::NationalId) != 0
            && family <= CLOSE
            && p.level(Comparison::BirthDate) == 0
            && (given == DIFFERENT_NAME
                || (given != 0 && p.level(Comparison::Sex) == 1)
                || p.level(Comparison::NationalId) == DIFFERENT_ID
                || p.level(Comparison::MiddleName) == DIFFERENT_MIDDLE)
        {
            Some(Guard::TwinPattern)
        } else if households
            && !p.swapped()
            && family <= CLOSE
            && p.level(Comparison::Address) == 0
            && p.level(Comparison::NationalId) == DIFFERENT_ID
        {
            Some(Guard::HouseholdIds)
        } else if households
            && !p.swapped()
            && p.level(Comparison::BirthDate) == DIFFERENT_DATE
            && years_apart.is_some_and(|y| y >= GENERATION_YEARS)
        {
            Some(Guard::Generations)
        } else if households && !personal {
            Some(Guard::Namesake)
        } else {
            None
        }
    }
}

/// Birth years at least this far apart, with dates that are not one keying error or a
/// transposition apart, are two generations: a parent and a child who share a name (see
/// [`Guard::Generations`]). A generation is 20-35 years; 15 keeps clear of the few years by
/// which a mistyped or guessed birth date misses (every true pair of a generated register of
/// 1,000,000 whose dates differ outright is less than 10 years apart).
pub const GENERATION_YEARS: u32 = 15;

/// What tells two people of one household with one name apart. An export with none of them
/// (names and places only) cannot show how often a father and son without a suffix, or a
/// mother and daughter, share a name and an address, so every such match is a guess: on a
/// generated register of 100,000 reduced to names, locality and postcode, all 92 false
/// matches of 217 were such pairs. The guard is per export, not per pair: where the export
/// has these fields, the model learns from the pairs that carry them, and vetoing the pairs
/// that happen to lack them cost 14 true matches and no false one (the same register
/// without sex, phone and email).
pub(crate) const PERSONAL_FIELDS: [Comparison; 6] = [
    Comparison::BirthDate,
    Comparison::BirthYear,
    Comparison::NationalId,
    Comparison::MiddleName,
    Comparison::Sex,
    Comparison::NameSuffix,
];

/// A scored candidate pair (listed when at or above the review threshold).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredPair {
    /// Snapshot rows, `a < b`.
    pub a: u32,
    pub b: u32,
    pub pattern: Pattern,
    /// Term-frequency adjustments (bits) applied to exact given / family names, else 0.
    pub given_tf: f32,
    pub family_tf: f32,
    /// Match weight in bits (prior + levels + term frequencies).
    pub match_weight: f64,
    pub probability: f64,
    pub guard: Option<Guard>,
    /// At or above the threshold and not guarded.
    pub matched: bool,
    /// Index into [`DedupeResult::clusters`] when matched.
    pub cluster: Option<u32>,
}

/// One field's part in a pair's score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldScore {
    pub comparison: Comparison,
    /// Level name (`exact`, `close`, ..., `missing`).
    pub level: &'static str,
    /// Bits, term-frequency adjustment included.
    pub weight: f64,
}

/// Everything deduplication found. Plain data; `report::dedupe` writes it.
#[derive(Clone, Debug)]
pub struct DedupeResult {
    pub config: DedupeConfig,
    pub rows: usize,
    /// Canonical fields the comparisons could not use because the snapshot lacks them.
    pub absent_fields: Vec<Field>,
    pub blocking: Vec<BlockingStat>,
    /// The blocking's estimated pair completeness.
    pub completeness: Completeness,
    /// Distinct candidate pairs scored.
    pub candidates: u64,
    /// Parts the candidate pairs were compared in (1 when they fitted in memory at once; see
    /// [`DedupeConfig::pairs_per_part`]). The result is the same whatever the number.
    pub parts: usize,
    pub model: Model,
    /// Pairs at or above the review threshold, ordered by (a, b).
    pub pairs: Vec<ScoredPair>,
    pub clusters: Vec<Cluster>,
    /// The exact-duplicate pass: same normalised name and birth date, or same national id.
    pub exact: ExactDuplicates,
    pub chance: ChanceEstimate,
}

impl DedupeResult {
    /// Renumbers every row into a subset of the snapshot ([`Snapshot::subset`] of `kept`,
    /// sorted, which must hold every row the result names). The order of rows is kept, so
    /// pairs stay ordered by (a, b) and clusters' rows ascending.
    pub fn renumber(&mut self, kept: &[u32]) {
        let kept = crate::snapshot::Renumbered::new(kept);
        let at = |row: &mut u32| *row = kept.at(*row);
        for p in &mut self.pairs {
            at(&mut p.a);
            at(&mut p.b);
        }
        for c in self.clusters.iter_mut().chain(&mut self.exact.groups) {
            c.rows.iter_mut().for_each(at);
        }
    }

    /// Every row the result names: of its pairs, clusters and exact groups, unsorted.
    pub fn named_rows(&self) -> impl Iterator<Item = u32> + '_ {
        let pairs = self.pairs.iter().flat_map(|p| [p.a, p.b]);
        let groups = self.clusters.iter().chain(&self.exact.groups);
        pairs.chain(groups.flat_map(|c| c.rows.iter().copied()))
    }

    /// Matched pairs.
    pub fn matched(&self) -> impl Iterator<Item = &ScoredPair> {
        self.pairs.iter().filter(|p| p.matched)
    }

    /// Each field's level and weight for `pair`.
    pub fn explain(&self, pair: &ScoredPair) -> Vec<FieldScore> {
        explain(&self.model, pair)
    }
}

/// Each field's level and weight for `pair` under `model`.
pub fn explain(model: &Model, pair: &ScoredPair) -> Vec<FieldScore> {
    Comparison::ALL
        .iter()
        .map(|&c| {
            let level = pair.pattern.level(c);
            let tf = match c {
                Comparison::GivenName => pair.given_tf,
                Comparison::FamilyName => pair.family_tf,
                _ => 0.0,
            };
            FieldScore {
                comparison: c,
                level: c.level_name(level),
                weight: model.weight(c, level) + f64::from(tf),
            }
        })
        .collect()
}

/// The fields whose absence `dedupe.json` reports (`absent_fields`): the identity fields a
/// data team would expect to see compared. Every one is among [`FIELDS`], which adds the
/// address parts and the district the comparisons fall back on (a test holds the inclusion).
const IDENTITY_FIELDS: [Field; 13] = [
    Field::GivenName,
    Field::FamilyName,
    Field::MiddleName,
    Field::NameSuffix,
    Field::BirthDate,
    Field::BirthYear,
    Field::Sex,
    Field::AddressLine,
    Field::Postcode,
    Field::Locality,
    Field::Phone,
    Field::Email,
    Field::NationalId,
];

pub(crate) fn validate(snapshot: &Snapshot, config: &DedupeConfig) -> Result<(), DedupeError> {
    validate_register(snapshot.rows(), |f| snapshot.has(f), config)
}

/// [`validate`] of a register of `rows` rows that `has` the fields it has.
fn validate_register(
    rows: usize,
    has: impl Fn(Field) -> bool,
    config: &DedupeConfig,
) -> Result<(), DedupeError> {
    if rows > blocking::MAX_ROWS {
        return Err(DedupeError::TooManyRows {
            rows,
            max: blocking::MAX_ROWS,
        });
    }
    if !has(Field::GivenName) && !has(Field::FamilyName) {
        return Err(DedupeError::NoNames);
    }
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    if !unit(config.threshold) || !unit(config.review_threshold) {
        return Err(DedupeError::InvalidConfig(
            "thresholds are probabilities in [0, 1]",
        ));
    }
    if config.max_block_size < 2 || config.rules.is_empty() || config.rules.len() > 255 {
        return Err(DedupeError::InvalidConfig(
            "max_block_size must be at least 2, with 1 to 255 blocking rules",
        ));
    }
    Ok(())
}

/// Finds the duplicate registrations of `snapshot`.
pub fn dedupe(snapshot: &Snapshot, config: &DedupeConfig) -> Result<DedupeResult, DedupeError> {
    validate(snapshot, config)?;
    let ids = snapshot.voter_ids();
    let voter_id = |row: u32| {
        ids.get(row as usize)
            .expect("a cluster row is a snapshot row, and voter_id is never null")
    };
    Ok(dedupe_records(
        Records::from_snapshot(snapshot),
        voter_id,
        |f| snapshot.has(f),
        config,
    ))
}

/// A register's identity fields gathered a window at a time ([`Windows::add`]), and then
/// deduplicated ([`Windows::dedupe`]) with the result [`dedupe`] gives of the whole snapshot:
/// only the normalised records and the voter ids are held, never the snapshot, which at
/// 10,000,000 voters is as large again (issue #16). The windows must come in row order.
pub struct Windows {
    records: records::RecordsBuilder,
    ids: VoterIds,
    fields: Vec<Field>,
    config: DedupeConfig,
}

impl Windows {
    /// Deduplication of a register of `rows` rows with `fields` (of [`FIELDS`], those it
    /// has), to be read a window at a time; refused as [`dedupe`] would refuse the whole
    /// snapshot, before any window is read.
    pub fn new(
        rows: usize,
        fields: &[Field],
        config: &DedupeConfig,
    ) -> Result<Windows, DedupeError> {
        validate_register(rows, |f| fields.contains(&f), config)?;
        Ok(Windows {
            records: records::RecordsBuilder::with_capacity(rows),
            ids: VoterIds::default(),
            fields: fields.to_vec(),
            config: config.clone(),
        })
    }

    /// The next rows of the register (at least [`FIELDS`] that it has, and `voter_id`).
    pub fn add(&mut self, window: &Snapshot) {
        self.records.add(window);
        self.ids.extend(
            window
                .voter_ids()
                .iter()
                .map(|id| id.expect("an ingested file's reader refuses a missing voter_id")),
        );
    }

    /// The duplicates of every row added.
    pub fn dedupe(self) -> DedupeResult {
        let Windows {
            records,
            ids,
            fields,
            config,
        } = self;
        dedupe_records(
            records.finish(),
            |row| ids.get(row),
            |f| fields.contains(&f),
            &config,
        )
    }
}

/// The voter ids of a register read a window at a time, in row order, in one buffer (an owned
/// string each would be twice the memory).
#[derive(Default)]
struct VoterIds {
    text: String,
    ends: Vec<usize>,
}

impl VoterIds {
    fn extend<'a>(&mut self, ids: impl Iterator<Item = &'a str>) {
        for id in ids {
            self.text.push_str(id);
            self.ends.push(self.text.len());
        }
    }

    fn get(&self, row: u32) -> &str {
        let row = row as usize;
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.text[start..self.ends[row]]
    }
}

/// Deduplication of `records`, once validated: `voter_id` names a row, `has` says which
/// fields the register has.
fn dedupe_records<'a>(
    records: Records,
    voter_id: impl Fn(u32) -> &'a str + Copy,
    has: impl Fn(Field) -> bool,
    config: &DedupeConfig,
) -> DedupeResult {
    let mut blocks = Blocks::build(&records, &config.rules, config.max_block_size, None);
    let n = records.len() as f64;
    let Scored {
        model,
        mut pairs,
        candidates,
        parts,
    } = fit_and_score(
        &records,
        &mut blocks,
        records.len() as u32,
        n * (n - 1.0) / 2.0,
        config,
        households_possible,
    );
    let blocking = blocks.stats;
    // Strongest matches first, so that a guarded pair's third record joins the closer one.
    let mut order: Vec<usize> = (0..pairs.len()).filter(|&k| pairs[k].matched).collect();
    order.sort_by(|&x, &y| {
        let (p, q) = (&pairs[x], &pairs[y]);
        q.match_weight
            .total_cmp(&p.match_weight)
            .then((p.a, p.b).cmp(&(q.a, q.b)))
    });
    let apart: Vec<(u32, u32)> = pairs
        .iter()
        .filter(|p| p.guard.is_some())
        .map(|p| (p.a, p.b))
        .collect();
    let (clusters, refused) = cluster::kept_apart_components(
        records.len(),
        order.iter().map(|&k| (pairs[k].a, pairs[k].b)),
        &apart,
        voter_id,
    );
    for k in refused {
        let p = &mut pairs[order[k]];
        p.matched = false;
        p.guard = Some(Guard::KeptApart);
    }
    let mut cluster_of = std::collections::HashMap::new();
    for (i, c) in clusters.iter().enumerate() {
        cluster_of.extend(c.rows.iter().map(|&r| (r, i as u32)));
    }
    for p in pairs.iter_mut().filter(|p| p.matched) {
        p.cluster = cluster_of.get(&p.a).copied();
    }
    let matched: Vec<(u32, u32)> = pairs
        .iter()
        .filter(|p| p.matched)
        .map(|p| (p.a, p.b))
        .collect();
    let completeness = completeness::completeness(&records, &blocking, &matched);
    let mut chance = chance::chance_estimate(&records);
    chance.matched_pairs = pairs
        .iter()
        .filter(|p| p.matched && same_name_and_birth(&records, p.a, p.b))
        .count() as u64;
    DedupeResult {
        config: config.clone(),
        rows: records.len(),
        absent_fields: IDENTITY_FIELDS.into_iter().filter(|&f| !has(f)).collect(),
        blocking,
        completeness,
        candidates,
        parts,
        model,
        pairs,
        clusters,
        exact: exact::from_records(&records, voter_id),
        chance,
    }
}

fn same_name_and_birth(r: &Records, a: u32, b: u32) -> bool {
    let (a, b) = (&r.rows[a as usize], &r.rows[b as usize]);
    a.given == b.given && a.family == b.family && a.birth == b.birth && a.birth != NO_DATE
}

/// Whether the register may hold households, for [`Guard::TwinPattern`] and
/// [`Guard::Namesake`]: twins and namesakes are two people of one household. When the
/// register has an address, phone or email and its pairs still show no households (the household class is not identified, see
/// [`fellegi_sunter::HouseholdFit::NotIdentified`]), the twin pattern is evidence of nothing
/// but its own fields, and vetoing it only loses duplicates whose given name was replaced:
/// on FEBRL 3 without its id column, 420 of the 6,538 true pairs (6.4% of recall) had the
/// twin pattern, and the benchmark set holds no twins. Where the household class is fitted,
/// or cannot be (no address, phone or email to see households by), the guard stands.
fn households_possible(model: &Model) -> bool {
    !matches!(
        model.household,
        fellegi_sunter::HouseholdFit::NotIdentified { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_budget_is_not_part_of_the_configuration_text() {
        let small = DedupeConfig {
            pairs_per_part: 5,
            ..DedupeConfig::default()
        };
        assert_eq!(
            format!("{small:?}"),
            format!("{:?}", DedupeConfig::default())
        );
        let stricter = DedupeConfig {
            threshold: 0.9,
            ..DedupeConfig::default()
        };
        assert_ne!(format!("{stricter:?}"), format!("{small:?}"));
    }

    /// Twins given two names each (the pairs of a generated register this guard was made
    /// for), and a middle initial, which is no disagreement.
    #[test]
    fn twins_whose_middle_names_differ_outright_are_kept_apart() {
        let r = records::of_csv(
            "voter_id,given_name,middle_name,family_name,birth_date,address_line\n\
             V1,JOHN,JOE,MUMERENK,1990-02-05,1405 SCHOOL CIR\n\
             V2,JOHN,ADAM,MUMERENKO,1990-02-05,1405 SCHOOL CIR\n\
             V3,JOHN,J,MUMERENKO,1990-02-05,1405 SCHOOL CIR\n\
             V4,JOHN,,MUMERENKO,1990-02-05,1405 SCHOOL CIR\n",
        );
        let guard = |a, b| Guard::of(compare::compare(&r, a, b), true, true, None);
        assert_eq!(guard(0, 1), Some(Guard::TwinPattern));
        assert_eq!(guard(0, 2), None, "J is JOE's initial");
        assert_eq!(guard(1, 3), None, "a missing middle name says nothing");
        let no_households = Guard::of(compare::compare(&r, 0, 1), false, true, None);
        assert_eq!(no_households, None);
    }

    #[test]
    fn the_reported_identity_fields_are_among_those_read() {
        for f in IDENTITY_FIELDS {
            assert!(FIELDS.contains(&f), "{} is reported but not read", f.name());
        }
    }
}
