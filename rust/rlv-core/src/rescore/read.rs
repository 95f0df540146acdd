//! Opening dumps: plain, gzip (also concatenated members), zstd (also several frames) or
//! Parquet, detected from the first bytes, never from the file name.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

use crate::error::{Error, Result};

/// Counts the (compressed) bytes read from the file, for progress reporting.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A zstd stream of one or more frames.
struct Zstd<R: BufRead> {
    dec: Option<StreamingDecoder<R, FrameDecoder>>,
}

impl<R: BufRead> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // End of a frame: another one may follow.
            let Some(dec) = self.dec.take() else {
                return Ok(0);
            };
            let (mut source, decoder) = dec.into_parts();
            if source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.dec = Some(
                StreamingDecoder::new_with_decoder(source, decoder)
                    .map_err(std::io::Error::other)?,
            );
        }
    }
}

/// Compression of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    /// A Parquet file (its pages have their own codecs).
    Parquet,
}

impl Compression {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Parquet => "parquet",
        }
    }
}

/// Where the rows of a dump come from.
pub enum Source {
    /// Lines of (decompressed) JSONL text.
    Lines(Box<dyn BufRead + Send>),
    /// Rows of a Parquet file.
    Parquet(Box<super::parquet::ParquetRows>),
}

/// An opened dump.
pub struct Opened {
    pub source: Source,
    pub compression: Compression,
    /// Bytes of the file read so far (compressed bytes for compressed dumps).
    pub bytes_read: Arc<AtomicU64>,
    /// Size of the file in bytes.
    pub file_size: u64,
}

fn io_err(file: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Io {
        file: file.to_string(),
        message: e.to_string(),
    }
}

/// Open `path`, detecting gzip / zstd / Parquet from its magic bytes. Parquet rows come in
/// chunks of about `chunk_bytes` of uncompressed data.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or a compressed stream cannot start;
/// [`Error::Dump`] for a file that starts like Parquet but is not readable Parquet.
pub fn open(path: &str, chunk_bytes: usize) -> Result<Opened> {
    let mut file = File::open(path).map_err(|e| io_err(path, &e))?;
    let file_size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let count = Arc::new(AtomicU64::new(0));
    let mut magic = [0u8; 4];
    let is_parquet = file.read_exact(&mut magic).is_ok() && &magic == super::parquet::MAGIC;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_err(path, &e))?;
    if is_parquet {
        let rows =
            super::parquet::ParquetRows::open(file, chunk_bytes, file_size, Arc::clone(&count))
                .map_err(|message| Error::Dump {
                    file: path.to_string(),
                    line: 0,
                    field: None,
                    message: format!("not a readable Parquet file: {message}"),
                })?;
        return Ok(Opened {
            source: Source::Parquet(Box::new(rows)),
            compression: Compression::Parquet,
            bytes_read: count,
            file_size,
        });
    }
    let mut raw = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            count: Arc::clone(&count),
        },
    );
    let head = raw.fill_buf().map_err(|e| io_err(path, &e))?;
    let compression = if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::None | Compression::Parquet => Box::new(raw),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(raw),
        )),
        Compression::Zstd => {
            let dec = StreamingDecoder::new(raw)
                .map_err(|e| io_err(path, &format!("not a readable zstd stream: {e}")))?;
            Box::new(BufReader::with_capacity(1 << 20, Zstd { dec: Some(dec) }))
        }
    };
    Ok(Opened {
        source: Source::Lines(reader),
        compression,
        bytes_read: count,
        file_size,
    })
}
