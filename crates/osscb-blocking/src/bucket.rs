//! A bucket handle: uploads (single, streamed, multipart with checkpoints),
//! downloads, metadata, deletion and presigning.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

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
    pub fn put_object(
        &self,
        key: &str,
        bytes: &[u8],
        options: &UploadOptions,
    ) -> Result<PutObjectOutput> {
        let key = ObjectKey::new(key)?;
        let op = options.put_object(&self.name, &key, bytes.len() as u64, None);
        let total = bytes.len() as u64;
        options.report(0, total);
        let (output, _) = self.client.send_payload(&op, Payload::Bytes(bytes))?;
        options.report(total, total);
        Ok(output)
    }

    /// Uploads the file at `path` to `key` in one request, streaming it (never
    /// read whole into memory) and checking its CRC-64 as it goes.
    ///
    /// # Errors
    /// As [`Bucket::put_object`], plus file errors.
    pub fn put_object_from_file(
        &self,
        key: &str,
        path: impl AsRef<Path>,
        options: &UploadOptions,
    ) -> Result<PutObjectOutput> {
        let path = path.as_ref();
        let key = ObjectKey::new(key)?;
        let len = fs::metadata(path).map_err(Error::io(path))?.len();
        let op = options.put_object(&self.name, &key, len, file_name(path));
        let payload = Payload::File {
            path,
            offset: 0,
            len,
            progress: options.progress.as_ref(),
        };
        Ok(self.client.send_payload(&op, payload)?.0)
    }

    /// Uploads the file at `path` to `key` in parts, `options.parallelism`
    /// at once on threads. The callback goes with the completion only. With
    /// `options.checkpoint`, a rerun after a crash skips finished parts, and a
    /// failed upload is kept for that; without one it is aborted. A 203 means
    /// the object was stored: the upload is then never aborted.
    ///
    /// # Errors
    /// As [`Bucket::put_object`], plus file and checkpoint errors.
    pub fn upload_file(
        &self,
        key: &str,
        path: impl AsRef<Path>,
        options: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput> {
        let path = path.as_ref();
        let key = ObjectKey::new(key)?;
        let meta = fs::metadata(path).map_err(Error::io(path))?;
        let file = FileFingerprint::new(meta.len(), meta.modified().unwrap_or(UNIX_EPOCH));
        let plan = options.plan(file.size)?;
        let callback = options.callback.as_ref();
        let saved = options.checkpoint.as_deref().and_then(load_checkpoint);
        let mut resumed = saved.filter(|c| c.resumes(&self.name, &key, file, &plan, callback));
        loop {
            let was_resumed = resumed.is_some();
            let checkpoint = match resumed.take() {
                Some(c) => c,
                None => {
                    let init =
                        self.client
                            .send(&options.initiate(&self.name, &key, file_name(path)))?;
                    let c =
                        Checkpoint::new(&self.name, &key, init.upload_id, file, &plan, callback);
                    save_checkpoint(options, &c)?;
                    c
                }
            };
            let upload_id = checkpoint.upload_id().to_owned();
            let error = match self.upload_parts(&key, path, checkpoint, options) {
                Ok(output) => {
                    remove_checkpoint(options);
                    return Ok(output);
                }
                Err(e) => e,
            };
            match options.after_failure(error.oss(), was_resumed) {
                AfterFailure::StartOver => remove_checkpoint(options),
                AfterFailure::Forget => {
                    remove_checkpoint(options);
                    return Err(error);
                }
                AfterFailure::Abort => {
                    let abort = AbortMultipartUpload::new(self.name.clone(), key, upload_id);
                    let _ = self.client.send(&abort);
                    return Err(error);
                }
                AfterFailure::Keep => return Err(error),
            }
        }
    }

    fn upload_parts(
        &self,
        key: &ObjectKey,
        path: &Path,
        checkpoint: Checkpoint,
        options: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput> {
        let plan = checkpoint.plan()?;
        let pending = Mutex::new(checkpoint.pending().into_iter());
        let upload_id = checkpoint.upload_id().to_owned();
        options.report(checkpoint.bytes_done(), plan.total_size);
        let state = Mutex::new(checkpoint);
        let failed = AtomicBool::new(false);
        let worker = || -> Result<()> {
            let mut file = File::open(path).map_err(Error::io(path))?;
            let mut buf = Vec::new();
            loop {
                let next = pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .next();
                let Some(number) = next.filter(|_| !failed.load(Ordering::SeqCst)) else {
                    return Ok(());
                };
                let (offset, len) = plan.part(number).unwrap_or_default();
                buf.resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
                file.seek(SeekFrom::Start(offset))
                    .map_err(Error::io(path))?;
                file.read_exact(&mut buf).map_err(Error::io(path))?;
                let op =
                    UploadPart::new(self.name.clone(), key.clone(), upload_id.as_str(), number)
                        .content_length(len);
                let (output, crc) = self.client.send_payload(&op, Payload::Bytes(&buf))?;
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.record(PartRecord {
                    number,
                    etag: output.object.etag.unwrap_or_default(),
                    crc64: crc,
                    size: len,
                });
                save_checkpoint(options, &state)?;
                let done = state.bytes_done();
                drop(state);
                options.report(done, plan.total_size);
            }
        };
        let threads = options.parallelism.clamp(1, plan.part_count as usize);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let result = worker();
                        if result.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                        result
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Result<Vec<()>>>()
        })?;
        let checkpoint = state.into_inner().unwrap_or_else(PoisonError::into_inner);
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
        let output = match self.client.send(&complete) {
            // A retried Complete whose first answer was lost finds the upload gone.
            Err(e) if Checkpoint::may_have_completed(e.oss()) => {
                let head = HeadObject::new(self.name.clone(), key.clone());
                let head = self.client.send(&head).ok();
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
    pub fn get_object(&self, key: &str) -> Result<(GetObjectOutput, Vec<u8>)> {
        let op = GetObject::new(self.name.clone(), ObjectKey::new(key)?);
        let (response, _) = read_capped(self.client.execute(&op, Payload::Core)?)?;
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
    pub fn get_object_to_file(&self, key: &str, path: impl AsRef<Path>) -> Result<GetObjectOutput> {
        let path = path.as_ref();
        let op = GetObject::new(self.name.clone(), ObjectKey::new(key)?);
        let sent = self.client.execute(&op, Payload::Core)?;
        let status = sent.response.status();
        if !status.is_success() {
            op.parse(read_capped(sent)?.0)?;
            return Err(osscb_core::Error::MalformedResponse(format!(
                "GetObject answered {status}"
            ))
            .into());
        }
        let (parts, body) = sent.response.into_parts();
        let output = op.parse(osscb_core::http::Response::from_parts(parts, Vec::new()))?;
        let mut file = File::create(path).map_err(Error::io(path))?;
        let mut reader = body.into_reader();
        let mut crc = Crc64::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| Error::Http(ureq::Error::Io(e)))?;
            if n == 0 {
                break;
            }
            crc.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(Error::io(path))?;
        }
        file.flush().map_err(Error::io(path))?;
        output.metadata.object.check_crc64(crc.value())?;
        Ok(output)
    }

    /// `key`'s metadata.
    ///
    /// # Errors
    /// OSS errors (`NoSuchKey` for a missing key).
    pub fn head_object(&self, key: &str) -> Result<ObjectMetadata> {
        self.client
            .send(&HeadObject::new(self.name.clone(), ObjectKey::new(key)?))
    }

    /// Deletes `key` (succeeds when it does not exist).
    ///
    /// # Errors
    /// OSS errors.
    pub fn delete_object(&self, key: &str) -> Result<DeleteObjectOutput> {
        self.client
            .send(&DeleteObject::new(self.name.clone(), ObjectKey::new(key)?))
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

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

fn load_checkpoint(path: &Path) -> Option<Checkpoint> {
    Checkpoint::from_json(&fs::read(path).ok()?).ok()
}

/// Saves atomically: a temporary file renamed over the checkpoint.
fn save_checkpoint(options: &UploadOptions, checkpoint: &Checkpoint) -> Result<()> {
    let Some(path) = options.checkpoint.as_deref() else {
        return Ok(());
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    fs::write(tmp, checkpoint.to_json()).map_err(Error::io(tmp))?;
    fs::rename(tmp, path).map_err(Error::io(path))
}

fn remove_checkpoint(options: &UploadOptions) {
    if let Some(path) = options.checkpoint.as_deref() {
        let _ = fs::remove_file(path);
    }
}
