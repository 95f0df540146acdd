//! Parquet dumps: decoded by the `parquet` crate's Arrow reader into record batches of about
//! `chunk_bytes` of uncompressed data, whose rows become JSON values (the object a JSONL line
//! would parse to) handed to the same row logic as JSONL, on the thread pool. No text is
//! written or parsed.
//!
//! Column types: null, booleans, integers, floats, strings (also large and view), lists
//! (also large and fixed-size) and structs, nested in any way; a column of another type is
//! an error naming it. Measured against the row-by-row `parquet::record` API
//! (`Row::to_json_value`) on the 2,000 x 512 benchmark dump: the record API rescored the
//! Parquet dump 15 % slower than the JSONL one, this reader no slower.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde_json::{Map, Number, Value};

/// The magic bytes that start (and end) a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// The rows of a Parquet file, in order, chunk by chunk.
pub struct ParquetRows {
    batches: ParquetRecordBatchReader,
    total_rows: u64,
    read_rows: u64,
    file_size: u64,
    /// Progress: the share of the file's bytes that the rows read so far stand for.
    bytes_read: Arc<AtomicU64>,
    done: bool,
}

impl ParquetRows {
    /// Open a Parquet file (its footer is read now).
    ///
    /// # Errors
    /// The `parquet` crate's error when the file is not readable Parquet, as text.
    pub fn open(
        file: File,
        chunk_bytes: usize,
        file_size: u64,
        bytes_read: Arc<AtomicU64>,
    ) -> std::result::Result<Self, String> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
        let meta = builder.metadata();
        let total_rows = u64::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
        let bytes: i64 = meta.row_groups().iter().map(|g| g.total_byte_size()).sum();
        let per_row = u64::try_from(bytes).unwrap_or(0) / total_rows.max(1);
        let per_chunk = usize::try_from(chunk_bytes as u64 / per_row.max(1))
            .unwrap_or(usize::MAX)
            .max(1);
        let batches = builder
            .with_batch_size(per_chunk)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            batches,
            total_rows,
            read_rows: 0,
            file_size,
            bytes_read,
            done: total_rows == 0,
        })
    }

    /// The next rows (at most one chunk; `None` at the end of the file), as a record batch:
    /// [`row_value`] turns its rows into JSON values (on the thread pool, with the rest of the
    /// row logic).
    ///
    /// # Errors
    /// A page that cannot be read or decoded.
    pub fn next(&mut self) -> std::io::Result<Option<RecordBatch>> {
        let out = match self.batches.next() {
            Some(Ok(batch)) => Some(batch),
            Some(Err(e)) => return Err(std::io::Error::other(format!("Parquet: {e}"))),
            None => {
                self.done = true;
                None
            }
        };
        let n = out.as_ref().map_or(0, RecordBatch::num_rows);
        self.read_rows += n as u64;
        if self.read_rows >= self.total_rows {
            self.done = true;
        }
        let done = if self.done {
            self.file_size
        } else {
            let share = u128::from(self.file_size) * u128::from(self.read_rows)
                / u128::from(self.total_rows.max(1));
            u64::try_from(share).unwrap_or(self.file_size)
        };
        self.bytes_read.store(done, Ordering::Relaxed);
        Ok(out)
    }

    /// Rows handed out so far.
    pub fn rows(&self) -> u64 {
        self.read_rows
    }

    /// Every row was handed out.
    pub fn done(&self) -> bool {
        self.done
    }
}

/// Row `i` of a record batch as a JSON object (column name -> value), as its JSONL line
/// would parse.
///
/// # Errors
/// A column of a type that has no JSON form here (named in the message).
pub fn row_value(batch: &RecordBatch, i: usize) -> std::result::Result<Value, String> {
    let schema = batch.schema();
    let mut row = Map::new();
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        row.insert(field.name().clone(), value_at(col.as_ref(), i)?);
    }
    Ok(Value::Object(row))
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Element `i` of an Arrow array as the JSON value a JSONL writer would give it (NaN and
/// infinities, which JSON lacks, as null).
fn value_at(col: &dyn Array, i: usize) -> std::result::Result<Value, String> {
    if col.is_null(i) {
        return Ok(Value::Null);
    }
    let list = |values: &dyn Array| -> std::result::Result<Value, String> {
        (0..values.len())
            .map(|j| value_at(values, j))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Value::Array)
    };
    Ok(match col.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(col.as_boolean().value(i)),
        DataType::Int8 => col.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => col.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => col.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => col.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => col.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => col.as_primitive::<UInt64Type>().value(i).into(),
        DataType::Float16 => float(col.as_primitive::<Float16Type>().value(i).to_f64()),
        DataType::Float32 => float(f64::from(col.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => float(col.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Value::String(col.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Value::String(col.as_string_view().value(i).to_owned()),
        DataType::List(_) => list(col.as_list::<i32>().value(i).as_ref())?,
        DataType::LargeList(_) => list(col.as_list::<i64>().value(i).as_ref())?,
        DataType::FixedSizeList(..) => list(col.as_fixed_size_list().value(i).as_ref())?,
        DataType::Struct(fields) => {
            let s = col.as_struct();
            let mut m = Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                m.insert(f.name().clone(), value_at(c.as_ref(), i)?);
            }
            Value::Object(m)
        }
        other => return Err(format!("Parquet column of unsupported type {other}")),
    })
}
