//! The synthetic register generator: a series of national register snapshots that behave
//! like a real one, with every planted irregularity recorded in a ground truth.
//!
//! No real voter data may enter this repository, yet every stage of rollaudit must be tested,
//! demonstrated and benchmarked on data with known answers. [`generate`] writes:
//!
//! - `register-YYYY-MM-DD.csv` (or `.csv.gz`, `.parquet`) per snapshot, in the canonical
//!   layout ([`crate::model::Field::ALL`] as the header row);
//! - `truth.json`, the ground truth (format documented in [`truth`]);
//! - `election.toml`, the election calendar the rules read.
//!
//! The pipeline: [`geography`] builds the country, [`population`] the households of the first
//! snapshot; then per interval [`churn`] applies routine change, [`mass_events`] the benign
//! batch jobs, [`anomalies`] and [`duplicates`] the planted irregularities, and [`write`]
//! formats the snapshot.
//!
//! Architecture invariants: the generator never reads input files and never prints; all
//! randomness comes from [`rng`] keyed by seed and item, so the same configuration gives
//! byte-identical files on any machine and any number of threads.

mod anomalies;
mod calendar;
mod churn;
mod corrupt;
mod duplicates;
mod geography;
mod households;
mod kinds;
mod mass_events;
mod names;
mod new_records;
mod population;
mod rng;
mod time;
pub mod truth;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::dates::{days_from_civil, IsoDate};

pub use kinds::{AnomalyKind, AnomalySelection, AnomalySelectionError};

use anomalies::{Planter, Window};
use calendar::Calendar;
use churn::Interval;
use geography::Geography;
use population::{PersonFactory, Register};
use truth::{voter_id, Truth};

/// The first snapshot date when none is given: Monday 2026-01-05.
pub fn default_start() -> i32 {
    days_from_civil(2026, 1, 5)
}

/// Shortest interval between snapshots: the calendar needs a cutoff and a freeze inside the
/// last interval, and a week keeps every interval holding working days.
pub const MIN_INTERVAL_DAYS: u32 = 7;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateConfig {
    /// Records in the first snapshot.
    pub voters: usize,
    /// Number of snapshots, at least 1.
    pub snapshots: usize,
    /// Days between snapshots.
    pub interval_days: u32,
    pub seed: u64,
    pub out_dir: PathBuf,
    pub anomalies: AnomalySelection,
    pub format: OutputFormat,
    /// First snapshot date, days since 1970-01-01 ([`default_start`] by default).
    pub start: i32,
}

impl GenerateConfig {
    /// A configuration with default anomalies, CSV output and the default start date.
    pub fn new(
        voters: usize,
        snapshots: usize,
        interval_days: u32,
        seed: u64,
        out_dir: impl Into<PathBuf>,
    ) -> Self {
        GenerateConfig {
            voters,
            snapshots,
            interval_days,
            seed,
            out_dir: out_dir.into(),
            anomalies: AnomalySelection::all_defaults(),
            format: OutputFormat::Csv,
            start: default_start(),
        }
    }
}

/// The seed of the committed `sample-data/` series.
pub const SAMPLE_SEED: u64 = 20_260_105;
/// Voters in the first snapshot of `sample-data/`.
pub const SAMPLE_VOTERS: usize = 20_000;
/// Snapshots in `sample-data/`.
pub const SAMPLE_SNAPSHOTS: usize = 4;
/// Days between the snapshots of `sample-data/`.
pub const SAMPLE_INTERVAL_DAYS: u32 = 90;
/// The command that regenerates `sample-data/` (run from the repository root).
pub const SAMPLE_COMMAND: &str = "rollaudit generate --voters 20000 --snapshots 4 --interval 90d \
     --seed 20260105 --anomalies default --format csv.gz -o sample-data";

/// The configuration of the committed `sample-data/` series, written to `out_dir`.
pub fn sample_config(out_dir: impl Into<PathBuf>) -> GenerateConfig {
    GenerateConfig {
        format: OutputFormat::CsvGz,
        ..GenerateConfig::new(
            SAMPLE_VOTERS,
            SAMPLE_SNAPSHOTS,
            SAMPLE_INTERVAL_DAYS,
            SAMPLE_SEED,
            out_dir,
        )
    }
}

/// The file format of the snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    /// Gzip-compressed CSV, byte-identical across runs (no timestamp, no file name).
    CsvGz,
    Parquet,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::CsvGz => "csv.gz",
            OutputFormat::Parquet => "parquet",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(OutputFormat::Csv),
            "csv.gz" | "gz" => Ok(OutputFormat::CsvGz),
            "parquet" => Ok(OutputFormat::Parquet),
            _ => Err(format!(
                "unknown format {s:?} (expected csv, csv.gz or parquet)"
            )),
        }
    }
}

/// Parses an interval such as `90d` (days) or `12w` (weeks); a bare number means days.
pub fn parse_interval(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().last() {
        Some((i, 'd')) => (&s[..i], 1),
        Some((i, 'w')) => (&s[..i], 7),
        _ => (s, 1),
    };
    let n: u32 = number.parse().map_err(|_| {
        format!("bad interval {s:?}: expected a number of days or weeks, e.g. 90d or 12w")
    })?;
    n.checked_mul(unit)
        .filter(|&d| d > 0)
        .ok_or_else(|| format!("bad interval {s:?}: must be positive"))
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateSummary {
    /// Snapshot files in date order, then `truth.json` and `election.toml`.
    pub files: Vec<PathBuf>,
    pub rows_per_snapshot: Vec<usize>,
    /// Planted anomaly events in `truth.json`, not counting the benign ones (list maintenance,
    /// redistricting, re-keying) nor the fuzzy-duplicate events (see `duplicates`).
    pub planted: usize,
    /// Planted duplicate pairs.
    pub duplicates: usize,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("invalid generator configuration: {field} {why}")]
    InvalidConfig { field: &'static str, why: String },
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the ground truth to {}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write Parquet snapshot {}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: Box<crate::load::LoadError>,
    },
}

fn validate(config: &GenerateConfig) -> Result<(), GenerateError> {
    let invalid = |field, why: &str| {
        Err(GenerateError::InvalidConfig {
            field,
            why: why.to_string(),
        })
    };
    if config.voters < 100 {
        return invalid("voters", "must be at least 100");
    }
    if config.voters > u32::MAX as usize / 4 {
        return invalid("voters", "must be below 10^9");
    }
    if config.snapshots == 0 {
        return invalid("snapshots", "must be at least 1");
    }
    if config.interval_days < MIN_INTERVAL_DAYS {
        return invalid("interval", "must be at least 7 days");
    }
    let end = i64::from(config.start) + config.snapshots as i64 * i64::from(config.interval_days);
    if config.start < days_from_civil(2006, 1, 1) || end > i64::from(days_from_civil(2100, 1, 1)) {
        return invalid("start", "and the snapshots must fall between 2006 and 2100");
    }
    Ok(())
}

/// When each selected anomaly, of magnitude `m`, is planted: the interval index, for
/// `intervals` intervals. Those dated by the election calendar go in the last one.
fn schedule(kind: AnomalyKind, m: f64, intervals: usize) -> usize {
    let last = intervals - 1;
    match kind {
        AnomalyKind::PostFreezeEdits | AnomalyKind::SkewedPurge => last,
        AnomalyKind::TargetedPurge if m > 1.0 => last,
        _ => {
            let position = AnomalyKind::ALL
                .iter()
                .filter(|k| !matches!(k, AnomalyKind::PostFreezeEdits | AnomalyKind::SkewedPurge))
                .position(|&k| k == kind)
                .expect("every kind is in ALL");
            position % intervals
        }
    }
}

/// Kinds that can be planted in the first snapshot when there is no interval.
fn plantable_without_interval(kind: AnomalyKind) -> bool {
    matches!(
        kind,
        AnomalyKind::BulkRegistration
            | AnomalyKind::SharedContact
            | AnomalyKind::ImplausibleRecords
            | AnomalyKind::FuzzyDuplicates
    )
}

/// Generates the series described by `config` into `config.out_dir`.
pub fn generate(config: &GenerateConfig) -> Result<GenerateSummary, GenerateError> {
    validate(config)?;
    std::fs::create_dir_all(&config.out_dir).map_err(|source| GenerateError::Io {
        path: config.out_dir.clone(),
        source,
    })?;
    let mut run = Run::new(config);
    run.first_snapshot()?;
    for index in 0..config.snapshots - 1 {
        run.interval(index)?;
    }
    run.finish()
}

/// The state of one generation run.
struct Run<'c> {
    config: &'c GenerateConfig,
    cal: Calendar,
    geo: Geography,
    reg: Register,
    truth: Truth,
    files: Vec<PathBuf>,
    rows: Vec<usize>,
}

impl<'c> Run<'c> {
    fn new(config: &'c GenerateConfig) -> Run<'c> {
        let cal = Calendar::new(config.start, config.snapshots, config.interval_days);
        let geo = Geography::build(config.seed, config.voters);
        let truth = Truth {
            schema_version: truth::SCHEMA_VERSION,
            generator: truth::GeneratorInfo {
                seed: config.seed,
                voters: config.voters,
                snapshots: config.snapshots,
                interval_days: config.interval_days,
                start: IsoDate(config.start).to_string(),
                anomalies: selection_text(&config.anomalies),
                format: config.format.to_string(),
            },
            snapshots: Vec::new(),
            calendar: truth::CalendarInfo {
                election_day: IsoDate(cal.election_day).to_string(),
                roll_freeze: IsoDate(cal.roll_freeze).to_string(),
                registration_cutoff: IsoDate(cal.registration_cutoff).to_string(),
                quiet_period_start: IsoDate(cal.quiet_start).to_string(),
            },
            geography: truth::GeographyInfo {
                regions: geo.regions.len(),
                districts: geo.districts.len(),
                precincts: geo.precincts.len(),
            },
            intervals: Vec::new(),
            events: Vec::new(),
            duplicates: Vec::new(),
            look_alikes: Default::default(),
            not_planted: Vec::new(),
        };
        Run {
            config,
            cal,
            geo,
            reg: Register::default(),
            truth,
            files: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn intervals(&self) -> usize {
        self.config.snapshots - 1
    }

    /// Fuzzy duplicates for one part: part 0 is the first snapshot, part `i + 1` interval `i`.
    fn duplicates_in(&self, part: usize) -> usize {
        let Some(m) = self
            .config
            .anomalies
            .magnitude(AnomalyKind::FuzzyDuplicates)
        else {
            return 0;
        };
        // At most half the register, so that every duplicate has a distinct original.
        let total = ((m * self.config.voters as f64).round() as usize).min(self.config.voters / 2);
        let intervals = self.intervals();
        if intervals == 0 {
            return total;
        }
        let first = total / 2;
        let rest = total - first;
        match part {
            0 => first,
            p => rest / intervals + usize::from(p - 1 < rest % intervals),
        }
    }

    fn first_snapshot(&mut self) -> Result<(), GenerateError> {
        let config = self.config;
        let pre_existing = self.duplicates_in(0);
        let factory = PersonFactory::new(&self.geo, config.seed, config.start);
        self.reg = households::initial_population(&factory, config.voters - pre_existing);
        self.truth.look_alikes = look_alikes(&self.reg, &self.geo);
        let mut events = Vec::new();
        let mut planter = Planter {
            seed: config.seed,
            reg: &mut self.reg,
            geo: &self.geo,
            factory: &factory,
            cal: &self.cal,
            window: Window {
                iv: None,
                to: config.start,
            },
            used_districts: Vec::new(),
            events: &mut events,
        };
        if pre_existing > 0 {
            let m = config
                .anomalies
                .magnitude(AnomalyKind::FuzzyDuplicates)
                .unwrap_or(0.0);
            let (event, pairs) = planter.fuzzy_duplicates(m, pre_existing, 0);
            event.into_iter().for_each(|e| planter.record(e));
            self.truth.duplicates.extend(pairs);
        }
        if self.config.snapshots == 1 {
            for &(kind, m) in &config.anomalies.kinds {
                if kind == AnomalyKind::FuzzyDuplicates {
                    continue;
                }
                if plantable_without_interval(kind) {
                    for p in plant(&mut planter, kind, m) {
                        planter.record(p);
                    }
                } else {
                    self.truth.not_planted.push(truth::NotPlanted {
                        kind: kind.name().to_string(),
                        why: "needs at least two snapshots",
                    });
                }
            }
        }
        drop(planter);
        self.truth.events.extend(events);
        self.write_snapshot(0)
    }

    fn interval(&mut self, index: usize) -> Result<(), GenerateError> {
        let config = self.config;
        let last = index + 1 == self.intervals();
        let (from, to) = (self.cal.snapshots[index], self.cal.snapshots[index + 1]);
        let iv = Interval {
            index,
            from,
            to,
            last_edit: if last { self.cal.roll_freeze } else { to },
            last_registration: if last {
                self.cal.registration_cutoff
            } else {
                to
            },
        };
        let (mut counts, weights) =
            churn::routine_changes(&mut self.reg, &self.geo, config.seed, iv);
        let mut planted = Vec::new();
        let mut used_districts = Vec::new();
        if index == 0 {
            planted.push(mass_events::list_maintenance(
                config.seed,
                &self.geo,
                &mut self.reg,
                iv,
            ));
        }
        if index == 1.min(self.intervals() - 1) {
            let (d, p) = mass_events::redistrict(config.seed, &mut self.geo, &mut self.reg, iv);
            used_districts.push(d);
            planted.push(p);
        }
        let factory = PersonFactory::new(&self.geo, config.seed, to);
        let intervals = self.intervals();
        let duplicates = self.duplicates_in(index + 1);
        let mut events = Vec::new();
        let mut planter = Planter {
            seed: config.seed,
            reg: &mut self.reg,
            geo: &self.geo,
            factory: &factory,
            cal: &self.cal,
            window: Window { iv: Some(iv), to },
            used_districts,
            events: &mut events,
        };
        planted.into_iter().for_each(|p| planter.record(p));
        for &(kind, m) in &config.anomalies.kinds {
            if kind == AnomalyKind::FuzzyDuplicates || schedule(kind, m, intervals) != index {
                continue;
            }
            let results = plant(&mut planter, kind, m);
            if results.is_empty() {
                self.truth.not_planted.push(truth::NotPlanted {
                    kind: kind.name().to_string(),
                    why: "no suitable records or dates in its interval",
                });
            }
            results.into_iter().for_each(|p| planter.record(p));
        }
        if duplicates > 0 {
            let m = config
                .anomalies
                .magnitude(AnomalyKind::FuzzyDuplicates)
                .unwrap_or(0.0);
            let (event, pairs) = planter.fuzzy_duplicates(m, duplicates, index as u64 + 1);
            event.into_iter().for_each(|e| planter.record(e));
            self.truth.duplicates.extend(pairs);
        }
        drop(planter);
        self.truth.events.extend(events);
        let (added, first_time) =
            churn::new_registrations(&mut self.reg, &factory, config.seed, iv, &weights);
        churn::add_registrations(&mut counts, added, first_time);
        self.truth.intervals.push(truth::IntervalInfo {
            from: IsoDate(from).to_string(),
            to: IsoDate(to).to_string(),
            churn: churn::counts_map(&counts),
        });
        self.write_snapshot(index + 1)
    }

    fn write_snapshot(&mut self, index: usize) -> Result<(), GenerateError> {
        let date = self.cal.snapshots[index];
        let name = format!(
            "register-{}.{}",
            IsoDate(date),
            self.config.format.extension()
        );
        let path = self.config.out_dir.join(&name);
        let rows = write::write_snapshot(&self.reg, &self.geo, self.config.format, &path)?;
        self.truth.snapshots.push(truth::SnapshotInfo {
            index,
            date: IsoDate(date).to_string(),
            file: name,
            rows,
        });
        self.files.push(path);
        self.rows.push(rows);
        Ok(())
    }

    fn finish(mut self) -> Result<GenerateSummary, GenerateError> {
        for (k, e) in self.truth.events.iter_mut().enumerate() {
            e.id = format!("E{:03}", k + 1);
        }
        let truth_path = self.config.out_dir.join("truth.json");
        let mut json =
            serde_json::to_vec_pretty(&self.truth).map_err(|source| GenerateError::Json {
                path: truth_path.clone(),
                source,
            })?;
        json.push(b'\n');
        write_file(&truth_path, &json)?;
        let calendar_path = self.config.out_dir.join("election.toml");
        write_file(&calendar_path, self.cal.to_toml().as_bytes())?;
        let planted = self
            .truth
            .events
            .iter()
            .filter(|e| !e.benign && e.kind != AnomalyKind::FuzzyDuplicates.name())
            .count();
        self.files.push(truth_path);
        self.files.push(calendar_path);
        Ok(GenerateSummary {
            files: self.files,
            rows_per_snapshot: self.rows,
            planted,
            duplicates: self.truth.duplicates.len(),
        })
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GenerateError> {
    std::fs::write(path, bytes).map_err(|source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Plants one kind; returns its events (none if the register offers no scope for it).
fn plant(planter: &mut Planter, kind: AnomalyKind, m: f64) -> Vec<anomalies::Planted> {
    match kind {
        AnomalyKind::TargetedPurge => planter.targeted_purge(m).into_iter().collect(),
        AnomalyKind::SkewedPurge => planter.skewed_purge(m).into_iter().collect(),
        AnomalyKind::MassPartySwitch => planter.mass_party_switch(m).into_iter().collect(),
        AnomalyKind::AddressRedirect => planter.address_redirect(m).into_iter().collect(),
        AnomalyKind::BulkRegistration => planter.bulk_registration(m).into_iter().collect(),
        AnomalyKind::BirthDateEdits => planter.birth_date_edits(m).into_iter().collect(),
        AnomalyKind::PostFreezeEdits => planter.post_freeze_edits(m).into_iter().collect(),
        AnomalyKind::NightBurst => planter.night_burst(m).into_iter().collect(),
        AnomalyKind::MassReactivation => planter.mass_reactivation(m).into_iter().collect(),
        AnomalyKind::IdReuse => planter.id_reuse(m).into_iter().collect(),
        AnomalyKind::SharedContact => planter.shared_contact(m),
        AnomalyKind::ImplausibleRecords => planter.implausible_records(m).into_iter().collect(),
        AnomalyKind::Rekey => planter.rekey(m).into_iter().collect(),
        AnomalyKind::FuzzyDuplicates => Vec::new(),
    }
}

/// The selection as canonical `--anomalies` text.
fn selection_text(selection: &AnomalySelection) -> String {
    if *selection == AnomalySelection::all_defaults() {
        return "default".into();
    }
    if selection.kinds.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = selection
        .kinds
        .iter()
        .map(|(k, m)| format!("{}={m}", k.name()))
        .collect();
    parts.join(",")
}

/// Twins, Jr/Sr pairs and large residences of the first snapshot.
fn look_alikes(reg: &Register, geo: &Geography) -> truth::LookAlikes {
    use std::collections::BTreeMap;
    let mut twins: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut juniors: BTreeMap<u32, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
    let institutions: BTreeMap<u32, &'static str> = reg.institutions.iter().copied().collect();
    let mut residents: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for (i, v) in reg.voters.iter().enumerate() {
        if v.flags & population::F_TWIN != 0 {
            twins.entry(v.household).or_default().push(v.id);
        }
        match v.suffix {
            population::SUFFIX_JR => juniors.entry(v.household).or_default().0.push(v.id),
            population::SUFFIX_SR => juniors.entry(v.household).or_default().1.push(v.id),
            _ => {}
        }
        if institutions.contains_key(&v.household) {
            let e = residents.entry(v.household).or_insert((i, 0));
            e.1 += 1;
        }
    }
    let mut out = truth::LookAlikes::default();
    for ids in twins.values().filter(|ids| ids.len() == 2) {
        out.twins.push([voter_id(ids[0]), voter_id(ids[1])]);
    }
    for (jr, sr) in juniors.values() {
        if let (&[j], &[s]) = (jr.as_slice(), sr.as_slice()) {
            out.junior_senior.push(truth::JuniorSenior {
                junior: voter_id(j),
                senior: voter_id(s),
            });
        }
    }
    for (h, (i, n)) in residents {
        let v = &reg.voters[i];
        let street = &geo.streets[v.street as usize];
        out.large_residences.push(truth::LargeResidence {
            address_line: format!("{} {}", v.house_number, street.name),
            precinct: geo.precincts[street.precinct as usize].code.clone(),
            kind: institutions[&h],
            voters: n,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("90d"), Ok(90));
        assert_eq!(parse_interval("12w"), Ok(84));
        assert_eq!(parse_interval("30"), Ok(30));
        assert!(parse_interval("0d").is_err());
        assert!(parse_interval("ninety").is_err());
        assert!(parse_interval("3m").is_err());
    }

    #[test]
    fn formats_parse() {
        assert_eq!("csv.gz".parse(), Ok(OutputFormat::CsvGz));
        assert_eq!("parquet".parse(), Ok(OutputFormat::Parquet));
        assert!("xlsx".parse::<OutputFormat>().is_err());
    }

    #[test]
    fn every_kind_has_an_interval_and_interval_kinds_spread() {
        for intervals in 1..5 {
            for k in AnomalyKind::ALL {
                assert!(schedule(k, k.default_magnitude(), intervals) < intervals);
            }
        }
        assert_eq!(schedule(AnomalyKind::PostFreezeEdits, 60.0, 3), 2);
        assert_eq!(schedule(AnomalyKind::TargetedPurge, 100.0, 3), 2);
        let used: std::collections::BTreeSet<usize> = AnomalyKind::ALL
            .iter()
            .map(|&k| schedule(k, k.default_magnitude(), 3))
            .collect();
        assert_eq!(used.len(), 3);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut c = GenerateConfig::new(1000, 0, 90, 1, "/nonexistent");
        assert!(matches!(
            validate(&c),
            Err(GenerateError::InvalidConfig {
                field: "snapshots",
                ..
            })
        ));
        c.snapshots = 2;
        c.interval_days = 3;
        assert!(matches!(
            validate(&c),
            Err(GenerateError::InvalidConfig {
                field: "interval",
                ..
            })
        ));
    }
}
