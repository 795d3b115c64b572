//! The load progress bar: drawn on stderr only when stderr is a terminal (indicatif hides
//! itself otherwise), so pipes, CI logs and batch jobs stay clean.

use std::cell::RefCell;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rollaudit::load::Progress;

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(label: &str) -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Bar(bar)
    }
}

impl Bar {
    /// Two bars drawn one under the other, for two loads that run at the same time.
    pub fn pair(a: &str, b: &str) -> (Bar, Bar) {
        let multi = MultiProgress::new();
        let (a, b) = (Bar::new(a), Bar::new(b));
        (Bar(multi.add(a.0)), Bar(multi.add(b.0)))
    }
}

impl Progress for Bar {
    fn start(&self, total_bytes: u64) {
        self.0.set_length(total_bytes);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A spinner naming the audit stage that is running; hidden when stderr is not a terminal.
pub struct StageSpinner(ProgressBar);

impl StageSpinner {
    pub fn new() -> StageSpinner {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("the template is valid"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        StageSpinner(bar)
    }

    pub fn stage(&self, name: &str) {
        self.0.set_message(name.to_string());
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// `--timings`: each stage's wall time, the rows it handled and the process's peak resident
/// memory when it ended, printed to stderr after the run so users see where time goes on their
/// own registers. Peak memory is the kernel's high-water mark (`VmHWM` in /proc/self/status),
/// so it only grows from stage to stage; it is absent where /proc is not available.
pub struct Timings {
    enabled: bool,
    start: Instant,
    open: RefCell<Option<(&'static str, Instant)>>,
    done: RefCell<Vec<StageTime>>,
}

struct StageTime {
    name: &'static str,
    seconds: f64,
    rows: Option<u64>,
    peak_rss_bytes: Option<u64>,
}

impl Timings {
    pub fn new(enabled: bool) -> Timings {
        Timings {
            enabled,
            start: Instant::now(),
            open: RefCell::new(None),
            done: RefCell::new(Vec::new()),
        }
    }

    /// Ends the running stage, if any, and starts `name`.
    pub fn begin(&self, name: &'static str) {
        self.end();
        *self.open.borrow_mut() = Some((name, Instant::now()));
    }

    /// Ends the running stage, if any.
    /// A stage run in parts (the audit loads, diffs and prepares the detectors one snapshot at
    /// a time) is one row: its times summed, its peak memory at its last part's end.
    pub fn end(&self) {
        if let Some((name, t0)) = self.open.borrow_mut().take() {
            let seconds = t0.elapsed().as_secs_f64();
            let peak_rss_bytes = rollaudit::load::memory::peak_resident_memory();
            let mut done = self.done.borrow_mut();
            match done.iter_mut().find(|s| s.name == name) {
                Some(s) => {
                    s.seconds += seconds;
                    s.peak_rss_bytes = peak_rss_bytes;
                }
                None => done.push(StageTime {
                    name,
                    seconds,
                    rows: None,
                    peak_rss_bytes,
                }),
            }
        }
    }

    /// Records how many rows the ended stage `name` handled (known only once it returned).
    pub fn rows(&self, name: &str, rows: u64) {
        if let Some(s) = self.done.borrow_mut().iter_mut().find(|s| s.name == name) {
            s.rows = Some(rows);
        }
    }

    /// Ends the running stage and prints the table on stderr, if `--timings` was given.
    pub fn report(&self) {
        self.end();
        if self.enabled {
            eprint!("{}", self.render());
        }
    }

    fn render(&self) -> String {
        let mib = |b: Option<u64>| b.map_or("n/a".to_string(), |b| format!("{}", b >> 20));
        let mut out = format!(
            "{:<12} {:>9} {:>12} {:>12} {:>14}\n",
            "stage", "wall s", "rows", "rows/s", "peak RSS MiB"
        );
        for s in self.done.borrow().iter() {
            let (rows, rate) = match s.rows {
                Some(r) => (
                    r.to_string(),
                    format!("{:.0}", r as f64 / s.seconds.max(1e-9)),
                ),
                None => ("".into(), "".into()),
            };
            out += &format!(
                "{:<12} {:>9.2} {rows:>12} {rate:>12} {:>14}\n",
                s.name,
                s.seconds,
                mib(s.peak_rss_bytes)
            );
        }
        out += &format!(
            "{:<12} {:>9.2} {:>12} {:>12} {:>14}\n",
            "total",
            self.start.elapsed().as_secs_f64(),
            "",
            "",
            mib(rollaudit::load::memory::peak_resident_memory())
        );
        out
    }
}
