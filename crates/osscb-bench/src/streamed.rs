//! The streaming figures: an upload from a source of unknown length (a
//! generator `Read` / `AsyncRead`, whose length nothing can ask) and a
//! download read as it arrives, each in its own process so that its peak
//! RSS is its own.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use osscb_core::crc64::Crc64;
use osscb_core::ops::GetObject;
use osscb_core::upload::UploadOptions;
use osscb_core::{Bucket, ObjectKey};
use serde_json::json;

use crate::receiver::Receiver;
use crate::transfer::{blocking, nonblocking, runtime};
use crate::{BUCKET, Result};

/// The part size of the pipe upload, MiB.
const PART_MIB: u64 = 8;
/// Parts in flight.
const PARALLELISM: usize = 4;

/// `left` pseudo-random bytes made as they are read, with their CRC-64.
struct Generator {
    left: u64,
    state: u64,
    crc: Crc64,
}

impl Generator {
    fn new(len: u64) -> Self {
        Self {
            left: len,
            state: 0x2545_F491_4F6C_DD1D,
            crc: Crc64::new(),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let n = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let word = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        n
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl tokio::io::AsyncRead for Generator {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// The key both figures use for `mode`.
fn key(mode: &str) -> String {
    format!("bench/pipe-{mode}.bin")
}

/// A `mib` MiB upload from a generator of unknown length, 8 MiB parts, 4
/// in flight, with a callback: MB/s, peak RSS; the stored CRC-64 must be
/// the source's.
pub(crate) fn pipe_upload(mode: &str, endpoint: &str, mib: usize) -> Result {
    let len = mib as u64 * 1024 * 1024;
    let receiver = Receiver::start(endpoint)?;
    let options = UploadOptions::new()
        .part_size(PART_MIB * 1024 * 1024)
        .parallelism(PARALLELISM)
        .callback(receiver.callback()?);
    let mut source = Generator::new(len);
    let started = Instant::now();
    let output = match mode {
        "blocking" => blocking(endpoint)?.upload_reader(&key(mode), &mut source, &options),
        "async" => {
            let bucket = nonblocking(endpoint)?;
            runtime()?.block_on(bucket.upload_reader(&key(mode), &mut source, &options))
        }
        other => return Err(format!("unknown mode {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if output.object.crc64 != Some(source.crc.value()) || source.crc.len() != len {
        return Err("the stored object's CRC-64 is not the source's".to_owned());
    }
    crate::emit(&json!({
        "figure": "pipe-upload",
        "mode": mode,
        "bytes": len,
        "parts": output.parts,
        "seconds": seconds,
        "mb_s": len as f64 / 1e6 / seconds,
        "rss_kib": crate::peak_rss_kib(),
        "callback_verified": output.callback.is_some() && receiver.verified() == 1,
    }));
    Ok(())
}

/// A download of the object `pipe_upload` stored, read as it arrives in
/// 64 KiB reads and dropped, its CRC-64 checked at the end: MB/s, peak RSS.
pub(crate) fn stream_download(mode: &str, endpoint: &str) -> Result {
    let op = GetObject::new(
        Bucket::new(BUCKET).map_err(|e| e.to_string())?,
        ObjectKey::new(key(mode)).map_err(|e| e.to_string())?,
    );
    let mut buf = vec![0; 64 * 1024];
    let mut len = 0_u64;
    let started = Instant::now();
    match mode {
        "blocking" => {
            let mut reader = blocking(endpoint)?
                .open_object(op)
                .map_err(|e| e.to_string())?;
            loop {
                let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                len += n as u64;
            }
        }
        "async" => {
            use futures_util::StreamExt as _;
            let bucket = nonblocking(endpoint)?;
            runtime()?.block_on(async {
                let mut stream = bucket.open_object(op).await.map_err(|e| e.to_string())?;
                while let Some(chunk) = stream.next().await {
                    len += chunk.map_err(|e| e.to_string())?.len() as u64;
                }
                Ok::<_, String>(())
            })?;
        }
        other => return Err(format!("unknown mode {other:?}")),
    }
    let seconds = started.elapsed().as_secs_f64();
    crate::emit(&json!({
        "figure": "stream-download",
        "mode": mode,
        "bytes": len,
        "seconds": seconds,
        "mb_s": len as f64 / 1e6 / seconds,
        "rss_kib": crate::peak_rss_kib(),
    }));
    Ok(())
}
