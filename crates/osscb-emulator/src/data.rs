//! The bytes of objects and parts: small ones in memory, larger ones in a
//! file. A request body is received as a stream, its MD5 and CRC-64 computed
//! as it arrives, and it is never held whole: past [`IN_MEMORY_MAX`] it goes
//! to a new file in the store's scratch directory.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use md5::{Digest as _, Md5};
use osscb_core::crc64::Crc64;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::error::OssError;

/// Bodies up to this size stay in memory (without a data directory).
pub(crate) const IN_MEMORY_MAX: u64 = 1024 * 1024;
/// How much of a body is written, or read for an answer, at a time.
const CHUNK: usize = 256 * 1024;

/// Stored bytes.
#[derive(Clone, Debug)]
pub(crate) enum Data {
    /// In memory.
    Memory(Bytes),
    /// In the file at `path`, `len` bytes long.
    File {
        /// Where.
        path: PathBuf,
        /// How long.
        len: u64,
    },
}

impl Data {
    /// The number of bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Data::Memory(bytes) => bytes.len() as u64,
            Data::File { len, .. } => *len,
        }
    }

    /// The bytes held in memory.
    #[cfg(test)]
    pub(crate) fn in_memory(&self) -> u64 {
        match self {
            Data::Memory(bytes) => bytes.len() as u64,
            Data::File { .. } => 0,
        }
    }

    /// The file, if the bytes are in one.
    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Data::Memory(_) => None,
            Data::File { path, .. } => Some(path),
        }
    }

    /// Removes the file of bytes that will not be stored (on a refused
    /// write's way out).
    pub(crate) fn discard(&self) {
        if let Some(path) = self.path() {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Opens the bytes for reading (a file is opened now, so that it can be
    /// read to the end even if it is removed meanwhile).
    pub(crate) fn open(&self) -> io::Result<Opened> {
        Ok(match self {
            Data::Memory(bytes) => Opened::Memory(bytes.clone()),
            Data::File { path, len } => Opened::File(File::open(path)?, *len),
        })
    }
}

/// Stored bytes, opened for reading.
#[derive(Debug)]
pub(crate) enum Opened {
    /// In memory.
    Memory(Bytes),
    /// An open file and its length.
    File(File, u64),
}

impl Opened {
    /// The number of bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Opened::Memory(bytes) => bytes.len() as u64,
            Opened::File(_, len) => *len,
        }
    }
}

/// A response body.
pub(crate) type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, io::Error>;

/// A response body of bytes in memory.
pub(crate) fn full(bytes: Bytes) -> Body {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response body of `len` bytes of `opened` from `start`, read a chunk at
/// a time; with `damage`, its first byte is flipped.
pub(crate) fn stream(opened: Opened, start: u64, len: u64, damage: bool) -> io::Result<Body> {
    let flip = |mut chunk: Vec<u8>, damage: bool| {
        if damage && let Some(first) = chunk.first_mut() {
            *first ^= 0xFF;
        }
        Bytes::from(chunk)
    };
    match opened {
        Opened::Memory(bytes) => {
            let s = usize::try_from(start)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let e = usize::try_from(start.saturating_add(len))
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let slice = bytes.slice(s..e);
            Ok(full(if damage {
                flip(slice.to_vec(), true)
            } else {
                slice
            }))
        }
        Opened::File(mut file, _) => {
            file.seek(SeekFrom::Start(start))?;
            let file = tokio::fs::File::from_std(file);
            let chunks = futures_util::stream::try_unfold(
                (file, len, damage),
                move |(mut file, left, damage)| async move {
                    if left == 0 {
                        return Ok(None);
                    }
                    let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                    let mut chunk = vec![0; n];
                    file.read_exact(&mut chunk).await?;
                    let frame = Frame::data(flip(chunk, damage));
                    Ok(Some((frame, (file, left - n as u64, false))))
                },
            );
            Ok(StreamBody::new(chunks).boxed_unsync())
        }
    }
}

/// A received body: its bytes and digests.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) data: Data,
    pub(crate) md5: [u8; 16],
    pub(crate) crc64: u64,
}

/// A file being written, removed when dropped unless kept.
struct Spill {
    path: PathBuf,
    file: Option<tokio::fs::File>,
}

impl Drop for Spill {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Receives `body` (at most `max` bytes, else `too_large`): in memory up to
/// [`IN_MEMORY_MAX`], else in a new file in the directory `scratch` gives.
pub(crate) async fn receive(
    mut body: impl Stream<Item = Result<Bytes, OssError>> + Unpin,
    max: u64,
    scratch: impl Fn() -> io::Result<PathBuf>,
    too_large: impl FnOnce() -> OssError,
) -> Result<Received, OssError> {
    let internal = |e: io::Error| OssError::internal(e.to_string());
    let mut md5 = Md5::new();
    let mut crc = Crc64::new();
    let mut buffer = BytesMut::new();
    let mut spill: Option<Spill> = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if crc.len() + chunk.len() as u64 > max {
            return Err(too_large());
        }
        md5.update(&chunk);
        crc.update(&chunk);
        buffer.extend_from_slice(&chunk);
        if spill.is_none() && crc.len() > IN_MEMORY_MAX {
            let dir = scratch().map_err(internal)?;
            let path = dir.join(format!("{}.tmp", crate::server::random_hex(12)));
            let file = tokio::fs::File::create(&path).await.map_err(internal)?;
            spill = Some(Spill {
                path,
                file: Some(file),
            });
        }
        if let Some(file) = spill.as_mut().and_then(|s| s.file.as_mut())
            && buffer.len() >= CHUNK
        {
            file.write_all(&buffer).await.map_err(internal)?;
            buffer.clear();
        }
    }
    let data = match spill.as_mut().and_then(|s| s.file.take().map(|f| (s, f))) {
        Some((spill, mut file)) => {
            let written = async {
                file.write_all(&buffer).await?;
                file.flush().await
            }
            .await;
            if let Err(e) = written {
                // Removed by the drop of `spill`.
                spill.file = Some(file);
                return Err(internal(e));
            }
            Data::File {
                path: spill.path.clone(),
                len: crc.len(),
            }
        }
        None => Data::Memory(buffer.freeze()),
    };
    Ok(Received {
        data,
        md5: md5.finalize().into(),
        crc64: crc.value(),
    })
}

/// Reads all of `opened` into `out`.
pub(crate) fn copy_into(opened: Opened, out: &mut impl io::Write) -> io::Result<u64> {
    match opened {
        Opened::Memory(bytes) => {
            out.write_all(&bytes)?;
            Ok(bytes.len() as u64)
        }
        Opened::File(file, len) => io::copy(&mut file.take(len), out),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::Method;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, OssRequest};

    use super::*;
    use crate::{Emulator, EmulatorConfig};

    const MIB: usize = 1024 * 1024;

    fn fail(e: &dyn std::fmt::Display) -> ! {
        panic!("{e}")
    }

    struct Peer {
        emulator: Emulator,
        client:
            Client<hyper_util::client::legacy::connect::HttpConnector, http_body_util::Full<Bytes>>,
    }

    impl Peer {
        fn new() -> Self {
            let emulator =
                Emulator::start(EmulatorConfig::new("id", "secret")).unwrap_or_else(|e| fail(&e));
            let client = Client::builder(TokioExecutor::new()).build_http();
            Self { emulator, client }
        }

        /// Sends `request` signed; the status, the headers and the body's
        /// CRC-64 and length (read as it streams, never whole).
        async fn send(
            &self,
            request: OssRequest<Vec<u8>>,
        ) -> (u16, http::HeaderMap, u64, u64, Bytes) {
            let endpoint = Endpoint::parse(&self.emulator.endpoint()).unwrap_or_else(|e| fail(&e));
            let signed = request
                .sign(
                    &Config::v1(endpoint),
                    &Credentials::new("id", "secret"),
                    SystemTime::now(),
                )
                .unwrap_or_else(|e| fail(&e));
            let response = self
                .client
                .request(signed.map(|b| http_body_util::Full::new(Bytes::from(b))))
                .await
                .unwrap_or_else(|e| fail(&e));
            let (parts, mut body) = response.into_parts();
            let mut crc = Crc64::new();
            let mut head = BytesMut::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.unwrap_or_else(|e| fail(&e));
                if let Ok(data) = frame.into_data() {
                    crc.update(&data);
                    if head.len() < 4096 {
                        head.extend_from_slice(&data[..data.len().min(4096)]);
                    }
                }
            }
            (
                parts.status.as_u16(),
                parts.headers,
                crc.value(),
                crc.len(),
                head.freeze(),
            )
        }

        fn scratch_bytes(&self) -> u64 {
            let store = &self.emulator.shared.store;
            std::fs::read_dir(store.scratch().unwrap_or_else(|e| fail(&e)))
                .unwrap_or_else(|e| fail(&e))
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        }

        fn in_memory(&self) -> u64 {
            self.emulator.shared.store.in_memory()
        }
    }

    fn request(method: Method, key: &str, body: Vec<u8>) -> OssRequest<Vec<u8>> {
        let bucket = Bucket::new("bucket").unwrap_or_else(|e| fail(&e));
        let key = ObjectKey::new(key).unwrap_or_else(|e| fail(&e));
        let len = body.len();
        let mut request = OssRequest::new(method, bucket, Some(key), body);
        if len > 0 {
            request
                .set_header_str("content-length", &len.to_string())
                .unwrap_or_else(|e| fail(&e));
        }
        request
    }

    fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
        text.split_once(open)
            .and_then(|(_, rest)| rest.split_once(close))
            .map_or("", |(inner, _)| inner)
    }

    /// A 64 MiB multipart upload (eight 8 MiB parts): each part streams to
    /// a file as it arrives, the completed object is a file too, and the
    /// store never holds the bytes in memory; the download streams back the
    /// same bytes.
    #[tokio::test]
    async fn a_64_mib_multipart_upload_is_held_on_disk_not_in_memory() {
        let peer = Peer::new();
        let (status, _, _, _, xml) = peer
            .send(request(Method::POST, "big.bin", Vec::new()).query("uploads", ""))
            .await;
        assert_eq!(status, 200);
        let id = between(
            std::str::from_utf8(&xml).unwrap_or_default(),
            "<UploadId>",
            "</UploadId>",
        )
        .to_owned();
        let mut whole = Crc64::new();
        let mut list = String::from("<CompleteMultipartUpload>");
        for n in 1..=8u8 {
            let part: Vec<u8> = (0..8 * MIB).map(|i| (i % 251) as u8 ^ n).collect();
            whole.update(&part);
            let upload = request(Method::PUT, "big.bin", part)
                .query("partNumber", n.to_string())
                .query("uploadId", id.as_str());
            let (status, headers, _, _, _) = peer.send(upload).await;
            assert_eq!(status, 200);
            let etag = headers
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            list.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
            assert_eq!(peer.in_memory(), 0, "after part {n}");
            assert_eq!(peer.scratch_bytes(), u64::from(n) * 8 * MIB as u64);
        }
        list.push_str("</CompleteMultipartUpload>");
        let complete =
            request(Method::POST, "big.bin", list.into_bytes()).query("uploadId", id.as_str());
        let (status, headers, _, _, _) = peer.send(complete).await;
        assert_eq!(status, 200);
        let crc = headers
            .get("x-oss-hash-crc64ecma")
            .and_then(|v| v.to_str().ok());
        assert_eq!(crc, Some(whole.value().to_string().as_str()));
        assert_eq!(peer.in_memory(), 0);
        // The parts' files are gone, the object's is there.
        assert_eq!(peer.scratch_bytes(), 64 * MIB as u64);

        let (status, headers, crc, len, _) =
            peer.send(request(Method::GET, "big.bin", Vec::new())).await;
        assert_eq!((status, crc, len), (200, whole.value(), 64 * MIB as u64));
        let length = headers.get("content-length").and_then(|v| v.to_str().ok());
        assert_eq!(length, Some((64 * MIB).to_string().as_str()));

        let mut range = request(Method::GET, "big.bin", Vec::new());
        range
            .set_header_str("range", "bytes=8388606-8388609")
            .unwrap_or_else(|e| fail(&e));
        let (status, _, _, len, bytes) = peer.send(range).await;
        assert_eq!((status, len), (206, 4));
        let byte = |i: usize, n: u8| (i % 251) as u8 ^ n;
        let expected = [
            byte(8 * MIB - 2, 1),
            byte(8 * MIB - 1, 1),
            byte(0, 2),
            byte(1, 2),
        ];
        assert_eq!(&bytes[..], &expected[..]);

        let (status, ..) = peer
            .send(request(Method::DELETE, "big.bin", Vec::new()))
            .await;
        assert_eq!(status, 204);
        assert_eq!(peer.scratch_bytes(), 0);
    }

    /// A small object stays in memory; a large one goes to a file, which an
    /// overwrite replaces and a refused write (a wrong Content-MD5) leaves
    /// no trace of.
    #[tokio::test]
    async fn small_objects_stay_in_memory_and_large_ones_in_one_file_each() {
        let peer = Peer::new();
        let (status, ..) = peer
            .send(request(Method::PUT, "small", vec![1; 1000]))
            .await;
        assert_eq!(
            (status, peer.in_memory(), peer.scratch_bytes()),
            (200, 1000, 0)
        );
        for round in 0..2u8 {
            let big = vec![round; 3 * MIB];
            let (status, ..) = peer.send(request(Method::PUT, "big", big)).await;
            assert_eq!(status, 200);
            assert_eq!(
                (peer.in_memory(), peer.scratch_bytes()),
                (1000, 3 * MIB as u64)
            );
        }
        let mut bad = request(Method::PUT, "other", vec![9; 2 * MIB]);
        bad.set_header_str("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
            .unwrap_or_else(|e| fail(&e));
        let (status, ..) = peer.send(bad).await;
        assert_eq!(status, 400);
        assert_eq!(peer.scratch_bytes(), 3 * MIB as u64);
        let (status, _, _, len, head) = peer.send(request(Method::GET, "big", Vec::new())).await;
        assert_eq!((status, len, head.first()), (200, 3 * MIB as u64, Some(&1)));
    }
}
