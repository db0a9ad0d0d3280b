//! A bucket handle: uploads (single, streamed, multipart with checkpoints),
//! downloads, metadata, deletion and presigning. Each method builds the
//! core's machine for the job and runs it on the calling task.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use osscb_core::flow::{Call, Multipart, StreamUpload};
use osscb_core::ops::CompleteMultipartUploadOutput;
use osscb_core::ops::{
    DeleteObject, DeleteObjectOutput, GetObject, GetObjectOutput, HeadObject, ObjectMetadata,
    Operation, PutObjectOutput,
};
use osscb_core::upload::{UploadOptions, UploadOutput};
use osscb_core::{ObjectKey, PresignedRequest};

use crate::client::{Job, Sink, seed};
use crate::{Client, Result, file_error};

/// A bucket on a [`Client`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bucket {
    client: Client,
    name: osscb_core::Bucket,
}

impl Bucket {
    pub(crate) fn new(client: Client, name: osscb_core::Bucket) -> Self {
        Self { client, name }
    }

    /// The bucket's name.
    pub fn name(&self) -> &osscb_core::Bucket {
        &self.name
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Uploads `bytes` to `key` in one request; with a callback in `options`,
    /// the application server's answer is in the output.
    ///
    /// # Errors
    /// [`osscb_core::Error::callback_failed`] on 203 (the object was stored), a CRC-64
    /// mismatch, [`osscb_core::Error::AnswerLost`] or
    /// [`osscb_core::Error::OutcomeUnknown`] when a callback write's answer
    /// was lost, OSS and transport errors.
    pub async fn put_object(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
        options: &UploadOptions,
    ) -> Result<PutObjectOutput> {
        let bytes = bytes.into();
        let len = bytes.len() as u64;
        self.put(key, len, None, options, Job::Bytes(&bytes)).await
    }

    /// Uploads the file at `path` to `key` in one request, streaming it (never
    /// read whole into memory) and checking its CRC-64.
    ///
    /// # Errors
    /// As [`Bucket::put_object`], plus file errors.
    pub async fn put_object_from_file(
        &self,
        key: &str,
        path: impl AsRef<Path>,
        options: &UploadOptions,
    ) -> Result<PutObjectOutput> {
        let path = path.as_ref();
        let len = tokio::fs::metadata(path)
            .await
            .map_err(file_error(path))?
            .len();
        self.put(key, len, file_name(path), options, Job::File(path))
            .await
    }

    async fn put(
        &self,
        key: &str,
        len: u64,
        file_name: Option<&str>,
        options: &UploadOptions,
        job: Job<'_>,
    ) -> Result<PutObjectOutput> {
        let names = (&self.name, &ObjectKey::new(key)?);
        let call = Call::put(names, len, file_name, options, self.client.retry(), seed());
        self.client.run(call, job).await
    }

    /// Uploads the file at `path` to `key` in parts, `options.parallelism`
    /// at once on threads. The callback goes with the completion only. With
    /// `options.checkpoint`, a rerun after a crash skips finished parts, and a
    /// failed upload is kept for that; without one it is aborted. A 203 means
    /// the object was stored: the upload is then never aborted.
    ///
    /// # Errors
    /// As [`Bucket::put_object`], plus file and checkpoint errors.
    pub async fn upload_file(
        &self,
        key: &str,
        path: impl AsRef<Path>,
        options: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput> {
        let path = path.as_ref();
        let meta = tokio::fs::metadata(path).await.map_err(file_error(path))?;
        let file = (meta.len(), meta.modified().unwrap_or(UNIX_EPOCH));
        let (key, retry) = (ObjectKey::new(key)?, self.client.retry());
        let name = file_name(path);
        let upload = Multipart::new(&self.name, &key, options, file, name, retry, seed())?;
        self.client.run(upload, Job::File(path)).await
    }

    /// Uploads what `reader` gives, of any length unknown beforehand (a pipe,
    /// a socket, a child's output), to `key`: up to one part
    /// (`options.part_size`) in one PutObject, a longer source in parts
    /// begun on the fly, `options.parallelism` at once while the next part
    /// is read. Memory holds at most `parallelism + 1` parts. The callback
    /// goes with the PutObject or the completion; each part's CRC-64 and the
    /// whole object's are checked. Progress reports `(bytes acknowledged,
    /// bytes read so far)`. See [`StreamUpload`].
    ///
    /// # Errors
    /// [`osscb_core::Error::SourceRead`] when `reader` fails (the multipart
    /// upload is then aborted, nothing completed);
    /// [`osscb_core::Error::InvalidArgument`] for options with a checkpoint
    /// (a reader cannot be read again to resume); otherwise as
    /// [`Bucket::upload_file`].
    pub async fn upload_reader(
        &self,
        key: &str,
        reader: impl tokio::io::AsyncRead + Send + Unpin,
        options: &UploadOptions,
    ) -> Result<UploadOutput> {
        let (key, retry) = (ObjectKey::new(key)?, self.client.retry());
        let upload = StreamUpload::new(&self.name, &key, options, retry, seed())?;
        let source = tokio::sync::Mutex::new(reader);
        self.client.run(upload, Job::Pipe(&source)).await
    }

    /// As [`Bucket::upload_reader`], from a stream of chunks of any sizes
    /// (a request body being relayed, say); an error item ends the upload
    /// with [`osscb_core::Error::SourceRead`].
    ///
    /// # Errors
    /// As [`Bucket::upload_reader`].
    pub async fn upload_stream<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &self,
        key: &str,
        stream: impl futures_util::Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        options: &UploadOptions,
    ) -> Result<UploadOutput> {
        let chunks = futures_util::TryStreamExt::map_err(stream, std::io::Error::other);
        let reader = tokio_util::io::StreamReader::new(chunks);
        self.upload_reader(key, reader, options).await
    }

    /// Downloads `key` into memory (at most the core's body limit, 16 MiB),
    /// checking the CRC-64.
    ///
    /// # Errors
    /// OSS errors, a CRC-64 mismatch, an object over the limit.
    pub async fn get_object(&self, key: &str) -> Result<(GetObjectOutput, Vec<u8>)> {
        let mut call = self
            .client
            .call(GetObject::new(self.name.clone(), ObjectKey::new(key)?));
        let output = self.client.run(&mut call, Job::None).await?;
        Ok((output, call.take_body()))
    }

    /// Opens an object (or `range` of it: `GetObject::new(..).range(..)`) as
    /// a stream of chunks as they arrive, with no size limit: the answer's
    /// headers are checked (and the request retried) before the body is
    /// handed over; the CRC-64 of a whole object is checked at the end of the
    /// stream, whose last item is then a [`osscb_core::Error::Crc64Mismatch`].
    ///
    /// # Errors
    /// OSS errors (`is_not_found()` for a missing key).
    pub async fn open_object(&self, op: GetObject) -> Result<ObjectStream> {
        let slot = std::sync::Mutex::new(None);
        let call = self.client.call(op.streamed());
        let output = self.client.run(call, Job::Reader(&slot)).await?;
        let response = slot
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let response =
            response.ok_or_else(|| osscb_core::Error::MalformedResponse("no body".into()))?;
        Ok(ObjectStream {
            body: Box::pin(response.bytes_stream()),
            crc: osscb_core::crc64::Crc64::new(),
            output,
            checked: false,
        })
    }

    /// Downloads `key` into the file at `path`, streamed into a temporary
    /// file beside it that replaces `path` only once the CRC-64 checked out:
    /// a failed download leaves `path` as it was.
    ///
    /// # Errors
    /// OSS errors, file errors, a CRC-64 mismatch.
    pub async fn get_object_to_file(
        &self,
        key: &str,
        path: impl AsRef<Path>,
    ) -> Result<GetObjectOutput> {
        let call = self
            .client
            .call(GetObject::new(self.name.clone(), ObjectKey::new(key)?));
        let sink = Sink::beside(path.as_ref());
        let output = self.client.run(call, Job::Sink(&sink)).await?;
        sink.persist()?;
        Ok(output)
    }

    /// `key`'s metadata.
    ///
    /// # Errors
    /// OSS errors (`NoSuchKey` for a missing key).
    pub async fn head_object(&self, key: &str) -> Result<ObjectMetadata> {
        self.client
            .send(&HeadObject::new(self.name.clone(), ObjectKey::new(key)?))
            .await
    }

    /// Deletes `key` (succeeds when it does not exist).
    ///
    /// # Errors
    /// OSS errors.
    pub async fn delete_object(&self, key: &str) -> Result<DeleteObjectOutput> {
        self.client
            .send(&DeleteObject::new(self.name.clone(), ObjectKey::new(key)?))
            .await
    }

    /// A presigned URL for `op` (see [`Client::presign`]).
    ///
    /// # Errors
    /// As [`Client::presign`].
    pub async fn presign<O: Operation>(
        &self,
        op: &O,
        expires_in: Duration,
    ) -> Result<PresignedRequest> {
        self.client.presign(op, expires_in).await
    }
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

/// An object read as it arrives ([`Bucket::open_object`]).
pub struct ObjectStream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>,
    crc: osscb_core::crc64::Crc64,
    output: GetObjectOutput,
    checked: bool,
}

impl ObjectStream {
    /// The object's metadata, from the answer's headers.
    pub fn output(&self) -> &GetObjectOutput {
        &self.output
    }
}

impl futures_util::Stream for ObjectStream {
    type Item = Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        match self.body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.crc.update(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(crate::transport_error(e)))),
            Poll::Ready(None) if !self.checked => {
                self.checked = true;
                Poll::Ready(self.output.check_body(self.crc.value()).err().map(Err))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
