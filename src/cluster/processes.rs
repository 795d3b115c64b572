//! Ballista's scheduler and executor, started with rollaudit's functions
//! (`rollaudit cluster scheduler|executor`). Each runs until it is stopped (Ctrl-C, SIGTERM).
//!
//! An executor that dies holds up the job whose tasks it had until the scheduler takes it for
//! lost (`executor_timeout_seconds` without a heartbeat); then its tasks run again on the
//! others. The command line's defaults for both are shorter than Ballista's (`src/cli/args.rs`
//! says why).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use super::functions::{registry, session_state};
use super::{runtime, ClusterError};

/// Where the scheduler listens, and when it gives up on a silent executor.
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// The host name executors and clients are told to use for it.
    pub external_host: String,
    pub executor_timeout_seconds: u64,
}

/// Runs a scheduler until it is stopped.
pub fn run_scheduler(options: &SchedulerOptions) -> Result<(), ClusterError> {
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options.external_host.clone(),
        override_session_builder: Some(Arc::new(session_state)),
        executor_timeout_seconds: options.executor_timeout_seconds,
        // Checked a few times per timeout; a job that lost every executor waits as long for
        // one to come back before it fails.
        expire_dead_executor_interval_seconds: (options.executor_timeout_seconds / 3).max(1),
        no_executors_grace_period_seconds: options.executor_timeout_seconds,
        ..Default::default()
    };
    let failed = |e| ClusterError::new(&format!("the scheduler on {}", options.bind), e);
    runtime()?.block_on(async {
        let cluster = BallistaCluster::new_from_config(&config)
            .await
            .map_err(failed)?;
        start_server(cluster, options.bind, Arc::new(config))
            .await
            .map_err(failed)
    })
}

/// An executor: which scheduler it serves, where it listens, where it keeps shuffle files.
#[derive(Clone, Debug)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// The address the executor's services bind to.
    pub bind_host: String,
    /// The host name the scheduler and other executors reach it by (`None`: the address it
    /// registered from).
    pub external_host: Option<String>,
    /// Arrow Flight (shuffle reads and results) and gRPC ports.
    pub port: u16,
    pub grpc_port: u16,
    /// Shuffle files. Created if missing.
    pub work_dir: PathBuf,
    /// Tasks run at once (0: one per core).
    pub vcores: usize,
    pub heartbeat_seconds: u64,
}

/// Runs an executor until it is stopped. It waits for the scheduler to come up.
pub fn run_executor(options: &ExecutorOptions) -> Result<(), ClusterError> {
    std::fs::create_dir_all(&options.work_dir).map_err(|e| {
        ClusterError::new(&format!("work directory {}", options.work_dir.display()), e)
    })?;
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.external_host.clone(),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.0.clone(),
        scheduler_port: options.scheduler.1,
        // Above 0 the executor retries until the scheduler answers.
        scheduler_connect_timeout_seconds: 60,
        vcores: options.vcores,
        work_dir: Some(options.work_dir.to_string_lossy().into_owned()),
        override_function_registry: Some(Arc::new(registry())),
        executor_heartbeat_interval_seconds: options.heartbeat_seconds,
        ..Default::default()
    };
    runtime()?
        .block_on(start_executor_process(Arc::new(config)))
        .map_err(|e| {
            ClusterError::new(
                &format!("the executor on {}:{}", options.bind_host, options.port),
                e,
            )
        })
}
