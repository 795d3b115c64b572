//! The load progress bar: drawn on stderr only when stderr is a terminal (indicatif hides
//! itself otherwise), so pipes, CI logs and batch jobs stay clean.

use indicatif::{ProgressBar, ProgressStyle};
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
