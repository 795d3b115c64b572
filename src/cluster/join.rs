//! The diff's keyed join as a SQL plan on the cluster.
//!
//! Both snapshots are ingested Parquet files (`rollaudit ingest`): a fingerprint per row,
//! unique `voter_id`s. The plan is a full outer join on `voter_id` that keeps the records only
//! one side has and the pairs whose fingerprints differ, in `voter_id` order: the rows
//! `diff::merge` finds, as ids. Only ids and fingerprints are read and shuffled, and only the
//! changed records come back to the driver, which turns the ids into rows of the snapshots it
//! loaded from the same files (one pass over each, in the same order).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use super::{functions, runtime, ClusterError, FINGERPRINT};
use crate::audit::FileJoin;
use crate::diff::Merged;
use crate::model::{Field, FINGERPRINT_COLUMN};
use crate::snapshot::Snapshot;

/// A client of a Ballista scheduler that joins snapshot files for the audit's diffs.
pub struct ClusterJoin {
    runtime: tokio::runtime::Runtime,
    context: SessionContext,
    /// Numbers the tables each join registers.
    joins: AtomicUsize,
}

impl ClusterJoin {
    /// Connects to the scheduler at `HOST:PORT` and checks that it runs a query, so that an
    /// unreachable cluster is reported before any snapshot is loaded.
    pub fn connect(scheduler: &str) -> Result<ClusterJoin, ClusterError> {
        let runtime = runtime()?;
        let context = runtime
            .block_on(async {
                let config = SessionConfig::new_with_ballista()
                    .with_ballista_job_name("rollaudit audit")
                    .with_ballista_adaptive_query_planner(false)
                    .with_ballista_broadcast_join_threshold_bytes(0);
                let state = SessionStateBuilder::new()
                    .with_config(config)
                    .with_default_features()
                    .build();
                let context =
                    SessionContext::remote_with_state(&format!("df://{scheduler}"), state).await?;
                // After `remote_with_state`: it replaces the session's function list.
                for function in functions() {
                    context.register_udf(function.as_ref().clone());
                }
                context.sql("SELECT 1").await?.collect().await?;
                Ok::<_, datafusion::error::DataFusionError>(context)
            })
            .map_err(|e| ClusterError::new(&format!("the scheduler at {scheduler}"), e))?;
        Ok(ClusterJoin {
            runtime,
            context,
            joins: AtomicUsize::new(0),
        })
    }

    /// The changed records' ids, `(old, new)`, in `voter_id` order.
    async fn changed_ids(
        &self,
        (old, new): (&Path, &Path),
        drift: Option<&[Field]>,
    ) -> datafusion::error::Result<Vec<RecordBatch>> {
        let n = self.joins.fetch_add(1, Ordering::Relaxed);
        let tables = [format!("old_{n}"), format!("new_{n}")];
        for (table, path) in tables.iter().zip([old, new]) {
            let extension = path
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            let options = ParquetReadOptions {
                file_extension: &extension,
                ..Default::default()
            };
            let path = path.to_string_lossy();
            self.context
                .register_parquet(table, &*path, options)
                .await?;
        }
        let sql = join_sql(&tables[0], &tables[1], drift);
        let batches = self.context.sql(&sql).await?.collect().await;
        for table in &tables {
            self.context.deregister_table(table.as_str())?;
        }
        batches
    }
}

/// The join. Without drift, the files' own fingerprints are compared; with it, the
/// fingerprints of the compared fields are taken on the executors.
fn join_sql(old: &str, new: &str, drift: Option<&[Field]>) -> String {
    let fingerprint = match drift {
        None => format!("\"{FINGERPRINT_COLUMN}\""),
        Some(compared) => {
            let args: Vec<String> = compared
                .iter()
                .map(|f| format!("'{0}', \"{0}\"", f.name()))
                .collect();
            format!("{FINGERPRINT}({})", args.join(", "))
        }
    };
    format!(
        "SELECT o.voter_id AS old_id, n.voter_id AS new_id \
         FROM (SELECT voter_id, {fingerprint} AS fp FROM {old}) o \
         FULL OUTER JOIN (SELECT voter_id, {fingerprint} AS fp FROM {new}) n \
         ON o.voter_id = n.voter_id \
         WHERE o.voter_id IS NULL OR n.voter_id IS NULL OR o.fp <> n.fp \
         ORDER BY COALESCE(o.voter_id, n.voter_id)"
    )
}

/// Rows of a snapshot found by id, for ids asked in increasing order.
struct Rows<'a, I: Iterator<Item = Option<&'a str>>> {
    ids: std::iter::Enumerate<I>,
    which: &'static str,
}

impl<'a, I: Iterator<Item = Option<&'a str>>> Rows<'a, I> {
    fn row_of(&mut self, id: &str) -> Result<u32, String> {
        for (row, have) in self.ids.by_ref() {
            match have.unwrap_or("").cmp(id) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => return Ok(row as u32),
                std::cmp::Ordering::Greater => break,
            }
        }
        Err(format!(
            "the cluster named voter_id {id:?}, which is not in the {which} snapshot as loaded \
             here, or out of order (do the executors read the same files?)",
            which = self.which
        ))
    }
}

impl FileJoin for ClusterJoin {
    fn join(
        &self,
        files: (&Path, &Path),
        (old, new): (&Snapshot, &Snapshot),
        drift: Option<&[Field]>,
    ) -> Result<Merged, String> {
        // The executors resolve the paths, from their own working directories.
        let absolute =
            |path: &Path| std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()));
        let files = (absolute(files.0)?, absolute(files.1)?);
        let batches = self
            .runtime
            .block_on(self.changed_ids((&files.0, &files.1), drift))
            .map_err(|e| e.to_string())?;
        let mut old_rows = Rows {
            ids: old.voter_ids().iter().enumerate(),
            which: "earlier",
        };
        let mut new_rows = Rows {
            ids: new.voter_ids().iter().enumerate(),
            which: "later",
        };
        let mut merged = Merged::default();
        for batch in &batches {
            let as_text = |i: usize| cast(batch.column(i), &DataType::Utf8);
            let (old_ids, new_ids) = (
                as_text(0).map_err(|e| e.to_string())?,
                as_text(1).map_err(|e| e.to_string())?,
            );
            let (old_ids, new_ids) = (old_ids.as_string::<i32>(), new_ids.as_string::<i32>());
            for i in 0..batch.num_rows() {
                let old_row = match old_ids.is_valid(i) {
                    true => Some(old_rows.row_of(old_ids.value(i))?),
                    false => None,
                };
                let new_row = match new_ids.is_valid(i) {
                    true => Some(new_rows.row_of(new_ids.value(i))?),
                    false => None,
                };
                match (old_row, new_row) {
                    (Some(o), None) => merged.dropped.push(o),
                    (None, Some(n)) => merged.added.push(n),
                    _ => {}
                }
                merged.pairs.push((old_row, new_row));
            }
        }
        Ok(merged)
    }
}
