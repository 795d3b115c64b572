//! From arguments to the library's inputs, resolved once per command: the profile (a
//! built-in, or a TOML file read here), the election calendar and the allowlist (read through
//! `load::read_config` and parsed from text), the reference time, the redaction key. Commands
//! work from these types only, never from raw flags.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rollaudit::audit::{AuditConfig, AuditInput};
use rollaudit::calendar::ElectionCalendar;
use rollaudit::findings::Severity;
use rollaudit::load;
use rollaudit::profile::{Profile, ProfileError};
use rollaudit::report::redact::Redactor;
use rollaudit::rules::{Allowlist, ScanConfig};

use super::args::{AuditArgs, LoadArgs, RuleArgs, ScanArgs};

/// `--profile SPEC`: a built-in profile name, else a TOML file.
pub fn profile(spec: &str) -> Result<Profile> {
    if let Some(profile) = Profile::builtin(spec) {
        return Ok(profile);
    }
    if !Profile::names_a_file(spec) {
        return Err(ProfileError::Unknown(spec.to_string()).into());
    }
    let path = Path::new(spec);
    let text = load::read_config(path, "profile")?;
    Ok(Profile::parse(&text, &path.display().to_string())?)
}

/// How one input is read: its profile and whether a reject is an error.
pub struct Reading {
    pub profile: Profile,
    pub strict: bool,
}

impl Reading {
    pub fn resolve(args: &LoadArgs) -> Result<Reading> {
        Ok(Reading {
            profile: profile(&args.profile)?,
            strict: args.strict,
        })
    }
}

/// What the record rules check against.
pub struct Rules {
    /// The calendar's path with the calendar (reports cite both).
    pub calendar: Option<(PathBuf, ElectionCalendar)>,
    pub allowlist: Allowlist,
    /// The death registry's path; it is loaded with the inputs, in the canonical layout.
    pub deceased: Option<PathBuf>,
}

impl Rules {
    pub fn resolve(args: &RuleArgs) -> Result<Rules> {
        let calendar = match &args.calendar {
            Some(path) => {
                let text = load::read_config(path, "calendar")?;
                let calendar = ElectionCalendar::parse(&text, &path.display().to_string())?;
                Some((path.clone(), calendar))
            }
            None => None,
        };
        let allowlist = match &args.allowlist {
            Some(path) => {
                let text = load::read_config(path, "allowlist")?;
                Allowlist::parse(&text, &path.display().to_string())?
            }
            None => Allowlist::default(),
        };
        Ok(Rules {
            calendar,
            allowlist,
            deceased: args.deceased.clone(),
        })
    }

    pub fn calendar(&self) -> Option<&ElectionCalendar> {
        self.calendar.as_ref().map(|(_, c)| c)
    }
}

/// `rollaudit audit`, resolved.
pub struct Audit {
    pub inputs: Vec<AuditInput>,
    pub reading: Reading,
    pub rules: Rules,
    pub config: AuditConfig,
    pub redactor: Option<Redactor>,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub as_of: String,
    pub fail_on: Option<Severity>,
    pub timings: bool,
    pub output: PathBuf,
    /// Text read at a time from a delimited export, set by the memory plan.
    pub piece_bytes: usize,
    /// The latest snapshot read a window at a time for its diff too, set by the memory plan
    /// ([`rollaudit::audit::AuditJob::latest_in_windows`]).
    pub latest_in_windows: bool,
    /// The scheduler that joins the snapshots for the diffs (`--cluster`).
    pub cluster: Option<String>,
    /// The exports read from ingested copies, set by the memory plan
    /// ([`rollaudit::audit::AuditJob::staged`]).
    pub staged: Vec<rollaudit::audit::Staged>,
}

impl Audit {
    pub fn resolve(args: &AuditArgs) -> Result<Audit> {
        let inputs = args
            .snapshots
            .iter()
            .map(|s| AuditInput::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = Rules::resolve(&args.rules)?;
        let mut config = AuditConfig::default();
        config.scan.allowlist = rules.allowlist.clone();
        let redactor = match args.redact {
            true => {
                let key = redaction_key(
                    args.redact_key_file.as_deref(),
                    std::env::var("ROLLAUDIT_REDACT_KEY").ok(),
                )?;
                Some(Redactor::new(&key))
            }
            false => None,
        };
        Ok(Audit {
            inputs,
            reading: Reading::resolve(&args.load)?,
            rules,
            config,
            redactor,
            as_of: as_of(
                args.as_of.as_deref(),
                std::env::var("SOURCE_DATE_EPOCH").ok(),
                std::time::SystemTime::now(),
            )?,
            fail_on: args.fail_on,
            timings: args.timings,
            output: args.output.clone(),
            piece_bytes: rollaudit::load::DEFAULT_PIECE_BYTES,
            latest_in_windows: false,
            staged: Vec::new(),
            cluster: args.cluster.clone(),
        })
    }
}

/// `rollaudit scan`, resolved.
pub struct Scan {
    pub input: AuditInput,
    pub reading: Reading,
    /// Text read at a time from a delimited export, set by the memory plan.
    pub piece_bytes: usize,
    /// Rows read at a time from an ingested file, when the memory plan reads it in windows
    /// (`rollaudit::rules::scan_windows`) instead of whole.
    pub window_rows: Option<usize>,
    pub rules: Rules,
    pub config: ScanConfig,
    pub fail_on: Option<Severity>,
    pub output: PathBuf,
}

impl Scan {
    pub fn resolve(args: &ScanArgs) -> Result<Scan> {
        let rules = Rules::resolve(&args.rules)?;
        let as_of = args
            .as_of
            .as_deref()
            .map(|s| {
                rollaudit::dates::parse_iso_date(s)
                    .with_context(|| format!("--as-of {s:?} is not a YYYY-MM-DD date"))
            })
            .transpose()?;
        let config = ScanConfig {
            as_of,
            allowlist: rules.allowlist.clone(),
            ..Default::default()
        };
        Ok(Scan {
            input: AuditInput::parse(&args.snapshot)?,
            reading: Reading::resolve(&args.load)?,
            piece_bytes: rollaudit::load::DEFAULT_PIECE_BYTES,
            window_rows: None,
            rules,
            config,
            fail_on: args.fail_on,
            output: args.output.clone(),
        })
    }
}

/// The redaction key: the key file's bytes, else the environment variable's.
fn redaction_key(file: Option<&Path>, env: Option<String>) -> Result<Vec<u8>> {
    match (file, env) {
        (Some(path), _) => std::fs::read(path)
            .with_context(|| format!("{}: cannot read the redaction key", path.display())),
        (None, Some(k)) if !k.is_empty() => Ok(k.into_bytes()),
        _ => bail!("--redact needs a key: --redact-key-file FILE or ROLLAUDIT_REDACT_KEY"),
    }
}

/// `--as-of`, else `SOURCE_DATE_EPOCH` (seconds), else `now`, as `YYYY-MM-DDTHH:MM:SSZ`.
fn as_of(
    arg: Option<&str>,
    source_date_epoch: Option<String>,
    now: std::time::SystemTime,
) -> Result<String> {
    let ms = match (arg, source_date_epoch) {
        (Some(s), _) => {
            let full = if s.len() == 10 {
                format!("{s}T00:00:00Z")
            } else {
                s.to_string()
            };
            rollaudit::dates::DateFormat::compile("%Y-%m-%dT%H:%M:%SZ")
                .expect("a valid format")
                .parse_timestamp(&full)
                .with_context(|| {
                    format!("--as-of {s:?} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
                })?
        }
        (None, Some(v)) => {
            let secs: i64 = v
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH {v:?} is not a number of seconds"))?;
            secs * 1000
        }
        (None, None) => now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    };
    Ok(format!("{}Z", rollaudit::dates::IsoTimestamp(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_profile_is_a_builtin_name_or_a_toml_file() {
        assert_eq!(profile("ncvoter").unwrap().name, "ncvoter");
        let err = profile("ohio").unwrap_err().to_string();
        assert!(err.contains("unknown profile \"ohio\""), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        let text = Profile::canonical()
            .text
            .replace("name = \"canonical\"", "name = \"mine\"");
        std::fs::write(&path, &text).unwrap();
        let mine = profile(path.to_str().unwrap()).unwrap();
        assert_eq!(mine.name, "mine");
        assert_eq!(mine.origin, path.display().to_string());

        let missing = dir.path().join("missing.toml");
        let err = format!("{:#}", profile(missing.to_str().unwrap()).unwrap_err());
        assert!(
            err.starts_with(&format!("{}: cannot read profile", missing.display())),
            "{err}"
        );
    }

    #[test]
    fn rule_files_are_read_and_parsed_with_their_path_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let calendar = dir.path().join("election.toml");
        std::fs::write(&calendar, "election_day = \"2026-11-03\"\nnot a key\n").unwrap();
        let args = RuleArgs {
            calendar: Some(calendar.clone()),
            deceased: None,
            allowlist: None,
        };
        let err = format!("{:#}", Rules::resolve(&args).err().unwrap());
        assert!(err.contains(&calendar.display().to_string()), "{err}");
        assert!(err.contains("line 2"), "{err}");

        let allowlist = dir.path().join("institutions.csv");
        std::fs::write(&allowlist, "1 COLLEGE RD,SPRINGFIELD,,dormitory\n").unwrap();
        let args = RuleArgs {
            calendar: None,
            deceased: None,
            allowlist: Some(allowlist),
        };
        let rules = Rules::resolve(&args).unwrap();
        assert!(rules.calendar.is_none());
        assert_ne!(rules.allowlist, Allowlist::default());
    }

    #[test]
    fn as_of_prefers_the_flag_then_source_date_epoch_then_now() {
        let now = UNIX_EPOCH + Duration::from_secs(86_400);
        let epoch = Some("1790000000".to_string());
        assert_eq!(
            as_of(Some("2026-05-04"), epoch.clone(), now).unwrap(),
            "2026-05-04T00:00:00Z"
        );
        assert_eq!(
            as_of(Some("2026-05-04T10:11:12Z"), None, now).unwrap(),
            "2026-05-04T10:11:12Z"
        );
        // 1,790,000,000 s after the epoch, by `date -u -d @1790000000`.
        assert_eq!(as_of(None, epoch, now).unwrap(), "2026-09-21T14:13:20Z");
        assert_eq!(as_of(None, None, now).unwrap(), "1970-01-02T00:00:00Z");
        assert!(as_of(Some("04/05/2026"), None, now).is_err());
        assert!(as_of(None, Some("soon".into()), now).is_err());
    }

    #[test]
    fn the_redaction_key_comes_from_the_file_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, b"from the file").unwrap();
        let env = Some("from the environment".to_string());
        assert_eq!(
            redaction_key(Some(&file), env.clone()).unwrap(),
            b"from the file"
        );
        assert_eq!(redaction_key(None, env).unwrap(), b"from the environment");
        assert!(redaction_key(None, Some(String::new())).is_err());
        assert!(redaction_key(None, None).is_err());
    }
}
