//! The audit on an existing distributed engine (issue #20), built only with `--features
//! cluster`: Apache DataFusion plans run by Ballista's scheduler and executors, for registers
//! that outgrow one machine and for bodies that keep theirs on a cluster.
//!
//! # The split
//! Relational work over the snapshot files runs as SQL plans on the executors, which read the
//! files themselves, from storage that every machine sees at the same path (a network file
//! system or an object store mounted alike). rollaudit's own kernels run inside those plans as
//! registered functions ([`functions`]): a plan never calls back into the driver per row. The
//! small, global steps stay on the driver, the process that runs `rollaudit audit --cluster`.
//!
//! What runs on the cluster so far is the diff's keyed join ([`join`]): the full outer join of
//! two snapshots on `voter_id`, hash-partitioned, keeping the records whose fingerprints
//! differ. The driver classifies those records as the local diff does, so the change log and
//! every artefact are the local audit's, byte for byte (`tests/cluster.rs`). The driver still
//! loads each snapshot for the other stages.
//!
//! # Processes
//! `rollaudit cluster scheduler` and `rollaudit cluster executor` ([`processes`]) are Ballista's
//! own scheduler and executor, started with rollaudit's functions. Ballista puts only a
//! function's name in a plan, so every process must hold them: the client registers them on its
//! context, the scheduler on each job's session, the executor in its function registry.
//!
//! # Two settings on every job
//! Both from the trial of Ballista 55 in issue #20:
//! - the static planner: with the default adaptive one, a job whose executor was killed hung
//!   until the client gave up; the static one retried the lost tasks and finished;
//! - no broadcast joins: a broadcast left or full outer join can be wrong
//!   (apache/datafusion-ballista#1055), and the diff is a full outer join.

mod functions;
mod join;
mod processes;

pub use functions::{functions, FINGERPRINT};
pub use join::ClusterJoin;
pub use processes::{run_executor, run_scheduler, ExecutorOptions, SchedulerOptions};

/// Why the cluster could not do its part. One line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(String);

impl ClusterError {
    fn new(what: &str, error: impl std::fmt::Display) -> ClusterError {
        ClusterError(format!("{what}: {error}"))
    }
}

/// A tokio runtime for the engine's futures (the rest of rollaudit runs on rayon).
fn runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::new("cannot start the engine's runtime", e))
}
