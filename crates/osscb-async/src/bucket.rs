//! A bucket handle: uploads (single, streamed, multipart with checkpoints),
//! downloads, metadata, deletion and presigning.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use osscb_core::crc64::{self, Crc64};
use osscb_core::ops::multipart::{
    AbortMultipartUpload, CompleteMultipartUpload, CompleteMultipartUploadOutput, UploadPart,
};
use osscb_core::ops::{
    DeleteObject, DeleteObjectOutput, GetObject, GetObjectOutput, HeadObject, ObjectMetadata,
    Operation, PutObjectOutput,
};
use osscb_core::upload::{AfterFailure, Checkpoint, FileFingerprint, PartRecord, UploadOptions};
use osscb_core::{ObjectKey, PresignedRequest};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::client::{Payload, read_capped};
use crate::{Client, CoreBody, Error, Result};

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
    /// [`Error::callback_failed`] on 203 (the object was stored), a CRC-64
    /// mismatch, OSS and transport errors.
    pub async fn put_object(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
        options: &UploadOptions,
    ) -> Result<PutObjectOutput> {
        let bytes = bytes.into();
        let key = ObjectKey::new(key)?;
        let total = bytes.len() as u64;
        let op = options.put_object(&self.name, &key, total, None);
        options.report(0, total);
        let (output, _) = self.client.send_payload(&op, Payload::Bytes(bytes)).await?;
        options.report(total, total);
        Ok(output)
    }

    /// Uploads the file at `path` to `key` in one request, streaming it (never
    /// read whole into memory) and checking its CRC-64 as it goes.
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
        let key = ObjectKey::new(key)?;
        let len = tokio::fs::metadata(path)
            .await
            .map_err(Error::io(path))?
            .len();
        let op = options.put_object(&self.name, &key, len, file_name(path));
        let payload = Payload::File {
            path,
            offset: 0,
            len,
            progress: options.progress.clone(),
        };
        Ok(self.client.send_payload(&op, payload).await?.0)
    }

    /// Uploads the file at `path` to `key` in parts, `options.parallelism`
    /// at once on tasks. The callback goes with the completion only. With
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
        let key = ObjectKey::new(key)?;
        let meta = tokio::fs::metadata(path).await.map_err(Error::io(path))?;
        let file = FileFingerprint::new(meta.len(), meta.modified().unwrap_or(UNIX_EPOCH));
        let plan = options.plan(file.size)?;
        let callback = options.callback.as_ref();
        let saved = match options.checkpoint.as_deref() {
            Some(cp) => load_checkpoint(cp).await,
            None => None,
        };
        let mut resumed = saved.filter(|c| c.resumes(&self.name, &key, file, &plan, callback));
        loop {
            let was_resumed = resumed.is_some();
            let checkpoint = match resumed.take() {
                Some(c) => c,
                None => {
                    let initiate = options.initiate(&self.name, &key, file_name(path));
                    let init = self.client.send(&initiate).await?;
                    let c =
                        Checkpoint::new(&self.name, &key, init.upload_id, file, &plan, callback);
                    save_checkpoint(options, &c).await?;
                    c
                }
            };
            let upload_id = checkpoint.upload_id().to_owned();
            let error = match self.upload_parts(&key, path, checkpoint, options).await {
                Ok(output) => {
                    remove_checkpoint(options).await;
                    return Ok(output);
                }
                Err(e) => e,
            };
            match options.after_failure(error.oss(), was_resumed) {
                AfterFailure::StartOver => remove_checkpoint(options).await,
                AfterFailure::Forget => {
                    remove_checkpoint(options).await;
                    return Err(error);
                }
                AfterFailure::Abort => {
                    let abort = AbortMultipartUpload::new(self.name.clone(), key, upload_id);
                    let _ = self.client.send(&abort).await;
                    return Err(error);
                }
                AfterFailure::Keep => return Err(error),
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &ObjectKey,
        path: &Path,
        checkpoint: Checkpoint,
        options: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput> {
        let plan = checkpoint.plan()?;
        let upload_id = checkpoint.upload_id().to_owned();
        options.report(checkpoint.bytes_done(), plan.total_size);
        let pending = Arc::new(std::sync::Mutex::new(checkpoint.pending().into_iter()));
        let state = Arc::new(Mutex::new(checkpoint));
        let failed = Arc::new(AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..options.parallelism.clamp(1, plan.part_count as usize) {
            let worker = PartWorker {
                bucket: self.clone(),
                key: key.clone(),
                path: path.to_owned(),
                upload_id: upload_id.clone(),
                options: options.clone(),
                pending: Arc::clone(&pending),
                state: Arc::clone(&state),
                failed: Arc::clone(&failed),
            };
            tasks.spawn(async move {
                let result = worker.run(plan).await;
                if result.is_err() {
                    worker.failed.store(true, Ordering::SeqCst);
                }
                result
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.unwrap_or_else(|e| match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => {
                    Err(osscb_core::Error::InvalidArgument(format!("part upload: {e}")).into())
                }
            });
            if let (Err(e), None) = (result, &first_error) {
                first_error = Some(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let checkpoint = state.lock().await.clone();
        let mut complete = CompleteMultipartUpload::new(
            self.name.clone(),
            key.clone(),
            upload_id,
            checkpoint.completed_parts(),
        )
        .forbid_overwrite(options.write.forbid_overwrite);
        if let Some(callback) = &options.callback {
            complete = complete.callback(callback.clone());
        }
        let output = match self.client.send(&complete).await {
            // A retried Complete whose first answer was lost finds the upload gone.
            Err(e) if Checkpoint::may_have_completed(e.oss()) => {
                let head = HeadObject::new(self.name.clone(), key.clone());
                let head = self.client.send(&head).await.ok();
                let callback = options.callback.is_some();
                let found = head.and_then(|h| checkpoint.recover_completion(&h, callback));
                found.ok_or(e)??
            }
            other => other?,
        };
        output.object.check_crc64(checkpoint.crc64())?;
        Ok(output)
    }

    /// Downloads `key` into memory (at most the core's body limit, 16 MiB),
    /// checking the CRC-64.
    ///
    /// # Errors
    /// OSS errors, a CRC-64 mismatch, an object over the limit.
    pub async fn get_object(&self, key: &str) -> Result<(GetObjectOutput, Vec<u8>)> {
        let op = GetObject::new(self.name.clone(), ObjectKey::new(key)?);
        let (response, _) = read_capped(self.client.execute(&op, Payload::Core).await?).await?;
        let (parts, body) = response.into_parts();
        let output = op.parse(osscb_core::http::Response::from_parts(
            parts,
            body.as_slice(),
        ))?;
        output.metadata.object.check_crc64(crc64::checksum(&body))?;
        Ok((output, body))
    }

    /// Downloads `key` into the file at `path`, streamed, checking the CRC-64.
    ///
    /// # Errors
    /// OSS errors, file errors, a CRC-64 mismatch.
    pub async fn get_object_to_file(
        &self,
        key: &str,
        path: impl AsRef<Path>,
    ) -> Result<GetObjectOutput> {
        let path = path.as_ref();
        let op = GetObject::new(self.name.clone(), ObjectKey::new(key)?);
        let mut sent = self.client.execute(&op, Payload::Core).await?;
        let status = sent.response.status();
        if !status.is_success() {
            op.parse(read_capped(sent).await?.0)?;
            return Err(osscb_core::Error::MalformedResponse(format!(
                "GetObject answered {status}"
            ))
            .into());
        }
        let mut head = osscb_core::http::Response::new(Vec::<u8>::new());
        *head.headers_mut() = sent.response.headers().clone();
        let output = op.parse(head)?;
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(Error::io(path))?;
        let mut crc = Crc64::new();
        while let Some(chunk) = sent.response.chunk().await? {
            crc.update(&chunk);
            file.write_all(&chunk).await.map_err(Error::io(path))?;
        }
        file.flush().await.map_err(Error::io(path))?;
        output.metadata.object.check_crc64(crc.value())?;
        Ok(output)
    }

    /// `key`'s metadata.
    ///
    /// # Errors
    /// OSS errors (`NoSuchKey` for a missing key).
    pub async fn head_object(&self, key: &str) -> Result<ObjectMetadata> {
        let op = HeadObject::new(self.name.clone(), ObjectKey::new(key)?);
        self.client.send(&op).await
    }

    /// Deletes `key` (succeeds when it does not exist).
    ///
    /// # Errors
    /// OSS errors.
    pub async fn delete_object(&self, key: &str) -> Result<DeleteObjectOutput> {
        let op = DeleteObject::new(self.name.clone(), ObjectKey::new(key)?);
        self.client.send(&op).await
    }

    /// A presigned URL for `op` (see [`Client::presign`]).
    ///
    /// # Errors
    /// As [`Client::presign`].
    pub fn presign<O: Operation>(&self, op: &O, expires_in: Duration) -> Result<PresignedRequest>
    where
        O::Body: CoreBody,
    {
        self.client.presign(op, expires_in)
    }
}

/// One of the tasks uploading parts: takes the next pending part, reads it
/// (one part buffer per task), uploads it, records it in the checkpoint.
struct PartWorker {
    bucket: Bucket,
    key: ObjectKey,
    path: PathBuf,
    upload_id: String,
    options: UploadOptions,
    pending: Arc<std::sync::Mutex<std::vec::IntoIter<u32>>>,
    state: Arc<Mutex<Checkpoint>>,
    failed: Arc<AtomicBool>,
}

impl PartWorker {
    async fn run(&self, plan: osscb_core::ops::multipart::PartPlan) -> Result<()> {
        let path = self.path.as_path();
        let mut file = tokio::fs::File::open(path).await.map_err(Error::io(path))?;
        loop {
            let next = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .next();
            let Some(number) = next.filter(|_| !self.failed.load(Ordering::SeqCst)) else {
                return Ok(());
            };
            let (offset, len) = plan.part(number).unwrap_or_default();
            let mut buf = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(Error::io(path))?;
            file.read_exact(&mut buf).await.map_err(Error::io(path))?;
            let op = UploadPart::new(
                self.bucket.name.clone(),
                self.key.clone(),
                self.upload_id.as_str(),
                number,
            )
            .content_length(len);
            let payload = Payload::Bytes(Bytes::from(buf));
            let (output, crc) = self.bucket.client.send_payload(&op, payload).await?;
            let mut state = self.state.lock().await;
            state.record(PartRecord {
                number,
                etag: output.object.etag.unwrap_or_default(),
                crc64: crc,
                size: len,
            });
            save_checkpoint(&self.options, &state).await?;
            let done = state.bytes_done();
            drop(state);
            self.options.report(done, plan.total_size);
        }
    }
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

async fn load_checkpoint(path: &Path) -> Option<Checkpoint> {
    Checkpoint::from_json(&tokio::fs::read(path).await.ok()?).ok()
}

/// Saves atomically: a temporary file renamed over the checkpoint.
async fn save_checkpoint(options: &UploadOptions, checkpoint: &Checkpoint) -> Result<()> {
    let Some(path) = options.checkpoint.as_deref() else {
        return Ok(());
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    tokio::fs::write(tmp, checkpoint.to_json())
        .await
        .map_err(Error::io(tmp))?;
    tokio::fs::rename(tmp, path).await.map_err(Error::io(path))
}

async fn remove_checkpoint(options: &UploadOptions) {
    if let Some(path) = options.checkpoint.as_deref() {
        let _ = tokio::fs::remove_file(path).await;
    }
}
