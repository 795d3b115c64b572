//! rollaudit's kernels as DataFusion scalar functions, for the executors to run inside plans.
//!
//! - `rollaudit_fingerprint('field', column, 'field', column, ...)`: the loader's row
//!   fingerprint (`load::convert`) over the fields named, from their typed columns. Over every
//!   field of an ingested file it equals the file's `_fingerprint`; over the fields two
//!   snapshots share, it compares two exports whose columns differ (schema drift), which their
//!   stored fingerprints cannot.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionConfig;
use xxhash_rust::xxh3::xxh3_64;

use crate::load::{hash_value, Value};
use crate::model::{Field, FieldKind};

/// The name of the fingerprint function in SQL.
pub const FINGERPRINT: &str = "rollaudit_fingerprint";

/// Every function rollaudit registers.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(Fingerprint {
        signature: Signature::variadic_any(Volatility::Immutable),
    }))]
}

/// The scheduler's session for each job: Ballista's own (its optimizer rules and functions)
/// with rollaudit's functions added.
pub(super) fn session_state(config: SessionConfig) -> Result<SessionState> {
    use datafusion::execution::FunctionRegistry;
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for function in functions() {
        state.register_udf(function)?;
    }
    Ok(state)
}

/// The executor's function registry: Ballista's defaults and rollaudit's functions.
pub(super) fn registry() -> ballista_core::registry::BallistaFunctionRegistry {
    let mut registry = ballista_core::registry::BallistaFunctionRegistry::default();
    for function in functions() {
        registry
            .scalar_functions
            .insert(function.name().to_string(), function);
    }
    registry
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Fingerprint {
    signature: Signature,
}

/// A column read as the loader converted it.
enum Typed {
    Text(ArrayRef),
    /// Days (a date) or a year.
    Int(ArrayRef, FieldKind),
    Millis(ArrayRef),
}

impl Typed {
    fn of(field: Field, array: &ArrayRef) -> Result<Typed> {
        Ok(match field.kind() {
            FieldKind::Text | FieldKind::Status => Typed::Text(cast(array, &DataType::Utf8)?),
            kind @ (FieldKind::Date | FieldKind::Year) => {
                Typed::Int(cast(array, &DataType::Int32)?, kind)
            }
            FieldKind::Timestamp => {
                let millis = cast(array, &DataType::Timestamp(TimeUnit::Millisecond, None))?;
                Typed::Millis(cast(&millis, &DataType::Int64)?)
            }
        })
    }

    fn value(&self, row: usize) -> Option<Value<'_>> {
        let array: &dyn Array = match self {
            Typed::Text(a) | Typed::Int(a, _) | Typed::Millis(a) => a.as_ref(),
        };
        if array.is_null(row) {
            return None;
        }
        Some(match self {
            Typed::Text(a) => Value::Text(a.as_string::<i32>().value(row)),
            Typed::Int(a, FieldKind::Date) => Value::Day(a.as_primitive::<Int32Type>().value(row)),
            Typed::Int(a, _) => Value::Year(a.as_primitive::<Int32Type>().value(row)),
            Typed::Millis(a) => Value::Millis(a.as_primitive::<Int64Type>().value(row)),
        })
    }
}

impl ScalarUDFImpl for Fingerprint {
    fn name(&self) -> &str {
        FINGERPRINT
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        if args.args.is_empty() || !args.args.len().is_multiple_of(2) {
            return exec_err!("{FINGERPRINT} takes pairs of a field name and its column");
        }
        let mut columns: Vec<(Field, Typed)> = Vec::with_capacity(args.args.len() / 2);
        for pair in args.args.chunks(2) {
            let name = match &pair[0] {
                ColumnarValue::Scalar(
                    ScalarValue::Utf8(Some(name))
                    | ScalarValue::Utf8View(Some(name))
                    | ScalarValue::LargeUtf8(Some(name)),
                ) => name.as_str(),
                other => return exec_err!("{FINGERPRINT}: {other:?} is not a field name"),
            };
            let Some(field) = Field::from_name(name) else {
                return exec_err!("{FINGERPRINT}: {name:?} is not a canonical field");
            };
            columns.push((field, Typed::of(field, &pair[1].to_array(rows)?)?));
        }
        // The loader hashes fields in canonical order.
        columns.sort_by_key(|(field, _)| *field);
        let mut buf = Vec::new();
        let fingerprints: UInt64Array = (0..rows)
            .map(|row| {
                buf.clear();
                for (field, column) in &columns {
                    hash_value(&mut buf, *field, column.value(row));
                }
                xxh3_64(&buf)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(fingerprints)))
    }
}
