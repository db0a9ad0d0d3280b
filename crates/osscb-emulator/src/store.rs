//! Objects and multipart uploads: their metadata in memory, their bytes in
//! memory when small and in files otherwise (see [`crate::data`]), written
//! through to a directory when one is configured (and loaded from it at
//! start). Without one, the files live in a private temporary directory,
//! made when the first large body arrives and removed when the store is
//! dropped.
//!
//! Every write is one atomic step under the store's lock (so
//! `x-oss-forbid-overwrite` cannot let two writers through), and never does
//! its file IO on the async runtime's threads: the bytes go to a new file
//! first, outside the lock, and only the small commit (the metadata file's
//! rename) happens under it, on a blocking thread.
//!
//! On disk, `objects/<stem>.json` holds an object's metadata and the name of
//! its data file `objects/<stem>.<random>.data`; `uploads/<id>/upload.json`
//! an upload, `uploads/<id>/part-<n>.json` and `part-<n>.<random>.data` its
//! parts; `incoming/` the bodies being received. Every file is written to a
//! temporary name, fsynced and renamed, data before the metadata that names
//! it, and the directory is fsynced, so a crash leaves either the old or the
//! new version, never metadata naming missing data. At start an entry whose
//! metadata does not parse or whose data is missing is skipped with a warning
//! on stderr; temporary files and `incoming/` are emptied.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

use crate::data::{self, Data, IN_MEMORY_MAX, Opened};

/// What the store keeps about an object besides its bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub(crate) bucket: String,
    pub(crate) key: String,
    /// Quoted uppercase hex.
    pub(crate) etag: String,
    pub(crate) crc64: u64,
    pub(crate) content_type: String,
    /// Seconds since the epoch.
    pub(crate) last_modified: u64,
    /// `x-oss-meta-*` headers, names lowercased.
    pub(crate) meta: Vec<(String, String)>,
    pub(crate) multipart: bool,
}

/// A stored object.
#[derive(Clone, Debug)]
pub(crate) struct Object {
    pub(crate) meta: ObjectMeta,
    pub(crate) data: Data,
}

/// An uploaded part.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PartMeta {
    pub(crate) number: u32,
    pub(crate) etag: String,
    pub(crate) md5: [u8; 16],
    pub(crate) crc64: u64,
    pub(crate) size: u64,
    pub(crate) last_modified: u64,
}

/// A part and its bytes.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub(crate) meta: PartMeta,
    pub(crate) data: Data,
}

/// A multipart upload in progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UploadMeta {
    pub(crate) id: String,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) content_type: String,
    pub(crate) meta: Vec<(String, String)>,
}

/// An upload and its parts.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    pub(crate) meta: UploadMeta,
    pub(crate) parts: BTreeMap<u32, Part>,
}

pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

fn hex_name(text: &str) -> String {
    hex_upper(&Md5::digest(text.as_bytes()))
}

/// Uppercase hex.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn json_err(e: serde_json::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Objects and uploads: the state behind a lock, the directory they are
/// written through to, if any, and the scratch directory bodies are
/// received into.
#[derive(Debug)]
pub(crate) struct Store {
    dir: Option<PathBuf>,
    /// An exclusive lock on `dir`, held while the store lives: one emulator
    /// per data directory (another would clear its incoming bodies).
    _lock: Option<fs::File>,
    /// Set at start with `dir`, else when first needed.
    scratch: OnceLock<Scratch>,
    state: Mutex<State>,
}

/// Where bodies are received.
#[derive(Debug)]
struct Scratch {
    path: PathBuf,
    /// The private temporary directory, when there is no data directory.
    _temporary: Option<tempfile::TempDir>,
}

#[derive(Debug, Default)]
struct State {
    objects: HashMap<(String, String), Object>,
    uploads: HashMap<String, Upload>,
}

/// A metadata file: the metadata and the name of its data file (absent in
/// directories written by earlier versions: then `<stem>.data`).
#[derive(Serialize, Deserialize)]
struct Record<M> {
    #[serde(flatten)]
    meta: M,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Written.
    Done,
    /// Refused: the object exists and the write forbade overwriting it.
    Exists,
    /// Refused: the multipart upload does not exist (any more).
    NoSuchUpload,
}

/// The bytes of an object to store.
#[derive(Debug)]
enum Source {
    /// Received bytes (a file of them belongs to the write).
    Data(Data),
    /// The concatenation of parts (whose files do not).
    Parts(Vec<Data>),
}

fn warn(what: &Path, why: &dyn std::fmt::Display) {
    eprintln!(
        "osscb-emulator: warning: skipping {}: {why}",
        what.display()
    );
}

/// Writes `bytes` to `path` through a fsynced temporary file and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

/// Makes the directory's entries (creations, renames, removals) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Writes the concatenation of `parts` to `path`; returns its length.
fn concat(parts: &[Data], path: &Path, sync: bool) -> io::Result<u64> {
    let written = (|| {
        let mut file = File::create(path)?;
        let mut len = 0;
        for part in parts {
            len += data::copy_into(part.open()?, &mut file)?;
        }
        if sync {
            file.sync_all()?;
        }
        Ok(len)
    })();
    if written.is_err() {
        let _ = remove_file(path);
    }
    written
}

/// Puts `source` where the store keeps it: with a directory, in a new data
/// file `<stem>.<random>.data` of `dir`, fsynced; without, in memory when
/// small, else in a file of the scratch directory.
fn settle(
    source: &Source,
    dir: Option<&Path>,
    scratch: impl FnOnce() -> io::Result<PathBuf>,
    stem: &str,
) -> io::Result<Data> {
    let Some(dir) = dir else {
        return match source {
            Source::Data(data) => Ok(data.clone()),
            Source::Parts(parts) if parts.iter().map(Data::len).sum::<u64>() <= IN_MEMORY_MAX => {
                let mut bytes = Vec::new();
                for part in parts {
                    data::copy_into(part.open()?, &mut bytes)?;
                }
                Ok(Data::Memory(Bytes::from(bytes)))
            }
            Source::Parts(parts) => {
                let path = scratch()?.join(format!("{}.tmp", crate::server::random_hex(12)));
                let len = concat(parts, &path, false)?;
                Ok(Data::File { path, len })
            }
        };
    };
    let path = dir.join(format!("{stem}.{}.data", crate::server::random_hex(8)));
    let len = match source {
        Source::Data(Data::Memory(bytes)) => {
            write_file(&path, bytes)?;
            bytes.len() as u64
        }
        Source::Data(Data::File { path: from, len }) => {
            File::open(from)?.sync_all()?;
            fs::rename(from, &path)?;
            *len
        }
        Source::Parts(parts) => {
            let tmp = path.with_extension("tmp");
            let len = concat(parts, &tmp, true)?;
            fs::rename(&tmp, &path)?;
            len
        }
    };
    sync_dir(dir)?;
    Ok(Data::File { path, len })
}

/// Removes the file of `data`, if any.
fn remove_data(data: &Data) -> io::Result<()> {
    data.path().map_or(Ok(()), remove_file)
}

/// Writes the metadata file `<stem>.json` naming the data file `data`.
fn write_record<M: Serialize>(dir: &Path, stem: &str, meta: M, data: &Data) -> io::Result<()> {
    let name = data
        .path()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("stored data without a file"))?;
    let record = Record {
        meta,
        data: Some(name.to_owned()),
    };
    let json = serde_json::to_vec(&record).map_err(json_err)?;
    write_file(&dir.join(format!("{stem}.json")), &json)?;
    sync_dir(dir)
}

/// Removes a file that may already be gone.
fn remove_file(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads a metadata file and finds the data file it names; `None` (with a
/// warning) when either is unusable.
fn load_record<M: for<'de> Deserialize<'de>>(json: &Path) -> Option<(M, String, Data)> {
    let raw = match fs::read(json) {
        Ok(raw) => raw,
        Err(e) => {
            warn(json, &e);
            return None;
        }
    };
    let record: Record<M> = match serde_json::from_slice(&raw) {
        Ok(record) => record,
        Err(e) => {
            warn(json, &format_args!("the metadata does not parse: {e}"));
            return None;
        }
    };
    let stem = json.file_stem()?.to_str()?;
    let name = record.data.unwrap_or_else(|| format!("{stem}.data"));
    if name.contains(['/', '\\']) || !name.starts_with(&format!("{stem}.")) {
        warn(json, &format_args!("it names a foreign data file {name:?}"));
        return None;
    }
    let path = json.parent()?.join(&name);
    match fs::metadata(&path) {
        Ok(m) if m.is_file() => Some((record.meta, name, Data::File { path, len: m.len() })),
        Ok(_) => {
            warn(json, &format_args!("its data file {name} is no file"));
            None
        }
        Err(e) => {
            warn(json, &format_args!("its data file {name}: {e}"));
            None
        }
    }
}

/// The entries of `dir` (an unreadable entry is skipped).
fn entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect())
}

fn is_ext(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e == ext)
}

/// Removes `*.tmp` files, and data files that no metadata file names: those
/// of a stem whose record loaded (`kept` names its data) and those of a stem
/// without any metadata file. Data next to unparsable metadata is left alone.
fn clean(dir: &Path, kept: &HashMap<String, String>) -> io::Result<()> {
    for path in entries(dir)? {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let stale = if is_ext(&path, "tmp") {
            true
        } else if is_ext(&path, "data") {
            let stem = name.split('.').next().unwrap_or_default();
            match kept.get(stem) {
                Some(data) => data != name,
                None => !dir.join(format!("{stem}.json")).exists(),
            }
        } else {
            false
        };
        if stale {
            remove_file(&path)?;
        }
    }
    Ok(())
}

impl Store {
    /// A store in memory and a private temporary directory, or one loaded
    /// from and written through to `dir`.
    pub(crate) fn open(dir: Option<PathBuf>) -> io::Result<Self> {
        let mut state = State::default();
        let Some(dir) = dir else {
            return Ok(Self {
                dir: None,
                _lock: None,
                scratch: OnceLock::new(),
                state: Mutex::new(state),
            });
        };
        fs::create_dir_all(&dir)?;
        let lock = fs::File::create(dir.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "data directory {} is in use by another emulator",
                        dir.display()
                    ),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        fs::create_dir_all(dir.join("objects"))?;
        fs::create_dir_all(dir.join("uploads"))?;
        let scratch = dir.join("incoming");
        fs::create_dir_all(&scratch)?;
        for path in entries(&scratch)? {
            remove_file(&path)?;
        }
        load_objects(&dir.join("objects"), &mut state)?;
        for updir in entries(&dir.join("uploads"))? {
            if updir.is_dir() {
                load_upload(&updir, &mut state)?;
            }
        }
        let scratch = OnceLock::from(Scratch {
            path: scratch,
            _temporary: None,
        });
        Ok(Self {
            dir: Some(dir),
            _lock: Some(lock),
            scratch,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where bodies are received (see [`data::receive`]): `incoming/` of
    /// the data directory, else a temporary directory made now if not yet,
    /// readable by its owner only.
    pub(crate) fn scratch(&self) -> io::Result<&Path> {
        if self.scratch.get().is_none() {
            let mut builder = tempfile::Builder::new();
            builder.prefix("osscb-emulator-");
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
            let temporary = builder.tempdir()?;
            // Another thread may have won: its directory is kept, this one removed.
            let _ = self.scratch.set(Scratch {
                path: temporary.path().to_owned(),
                _temporary: Some(temporary),
            });
        }
        self.scratch
            .get()
            .map(|s| s.path.as_path())
            .ok_or_else(|| io::Error::other("no scratch directory"))
    }

    /// How many bytes of objects and parts the store holds in memory.
    #[cfg(test)]
    pub(crate) fn in_memory(&self) -> u64 {
        let state = self.lock();
        let objects = state.objects.values().map(|o| o.data.in_memory());
        let parts = state.uploads.values().flat_map(|u| u.parts.values());
        objects.sum::<u64>() + parts.map(|p| p.data.in_memory()).sum::<u64>()
    }

    fn objects_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("objects"))
    }

    fn upload_dir(&self, id: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join("uploads").join(hex_name(id)))
    }

    /// Runs `f` on a blocking thread when it does file IO, else right here.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        io: bool,
        f: impl FnOnce(&Store) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        if !io && self.dir.is_none() {
            return f(self);
        }
        let store = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(io::Error::other)?
    }

    /// Up to `limit` objects' metadata and sizes, by bucket then key, and
    /// whether there were more.
    pub(crate) fn list(&self, limit: usize) -> (Vec<(ObjectMeta, u64)>, bool) {
        let state = self.lock();
        let mut keys: Vec<_> = state.objects.keys().collect();
        keys.sort();
        let more = keys.len() > limit;
        let listed = keys
            .into_iter()
            .take(limit)
            .filter_map(|k| state.objects.get(k))
            .map(|o| (o.meta.clone(), o.data.len()))
            .collect();
        (listed, more)
    }

    /// The object `bucket`/`key`, its bytes opened for reading.
    pub(crate) fn open_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<io::Result<(ObjectMeta, Opened)>> {
        let state = self.lock();
        let object = state.objects.get(&(bucket.to_owned(), key.to_owned()))?;
        Some(
            object
                .data
                .open()
                .map(|opened| (object.meta.clone(), opened)),
        )
    }

    /// Stores `object`, taking over its file if it has one; with
    /// `if_absent`, only when its key is free (checked and written in one
    /// step).
    pub(crate) async fn put(
        self: &Arc<Self>,
        object: Object,
        if_absent: bool,
    ) -> io::Result<Outcome> {
        let io = object.data.path().is_some();
        self.run(io, move |store| {
            store.put_blocking(object.meta, Source::Data(object.data), if_absent, None)
        })
        .await
    }

    /// Completes upload `id` into an object of `meta` made of `parts`, in
    /// one step: refused when the upload is gone or (with `if_absent`) the
    /// key is taken.
    pub(crate) async fn complete(
        self: &Arc<Self>,
        meta: ObjectMeta,
        parts: Vec<Data>,
        id: String,
        if_absent: bool,
    ) -> io::Result<Outcome> {
        let io = parts.iter().any(|p| p.path().is_some());
        self.run(io, move |store| {
            store.put_blocking(meta, Source::Parts(parts), if_absent, Some(&id))
        })
        .await
    }

    fn put_blocking(
        &self,
        meta: ObjectMeta,
        source: Source,
        if_absent: bool,
        upload: Option<&str>,
    ) -> io::Result<Outcome> {
        // A refused or failed write removes the file it brought.
        let written = self.put_source(meta, &source, if_absent, upload);
        if !matches!(written, Ok(Outcome::Done))
            && let Source::Data(data) = &source
        {
            remove_data(data)?;
        }
        written
    }

    fn put_source(
        &self,
        meta: ObjectMeta,
        source: &Source,
        if_absent: bool,
        upload: Option<&str>,
    ) -> io::Result<Outcome> {
        let id = (meta.bucket.clone(), meta.key.clone());
        let stem = hex_name(&format!("{}/{}", id.0, id.1));
        let refused = |state: &State| {
            if upload.is_some_and(|u| !state.uploads.contains_key(u)) {
                Some(Outcome::NoSuchUpload)
            } else if if_absent && state.objects.contains_key(&id) {
                Some(Outcome::Exists)
            } else {
                None
            }
        };
        // A write that may be refused is checked before its bytes are
        // written, and again (atomically with the commit) after.
        let conditional = if_absent || upload.is_some();
        if let Some(outcome) = conditional.then(|| refused(&self.lock())).flatten() {
            return Ok(outcome);
        }
        let dir = self.objects_dir();
        // The bytes go to their own new file before the lock is taken.
        let data = match settle(
            source,
            dir.as_deref(),
            || self.scratch().map(Path::to_owned),
            &stem,
        ) {
            Ok(data) => data,
            // A part's file is gone: the upload was completed or aborted meanwhile.
            Err(_) if upload.is_some() && refused(&self.lock()).is_some() => {
                return Ok(Outcome::NoSuchUpload);
            }
            Err(e) => return Err(e),
        };
        let mut state = self.lock();
        let committed = match (refused(&state), &dir) {
            (Some(outcome), _) => Err(Ok(outcome)),
            (None, Some(dir)) => write_record(dir, &stem, &meta, &data).map_err(Err),
            (None, None) => Ok(()),
        };
        if let Err(refusal) = committed {
            drop(state);
            remove_data(&data)?;
            return refusal;
        }
        let old = state.objects.insert(id, Object { meta, data });
        let removed = upload.and_then(|u| state.uploads.remove(u));
        drop(state);
        if let Some(old) = old {
            remove_data(&old.data)?;
        }
        if let Some(upload) = removed {
            for part in upload.parts.values() {
                remove_data(&part.data)?;
            }
            self.remove_upload_files(&upload.meta.id)?;
        }
        Ok(Outcome::Done)
    }

    /// Deletes the object `bucket`/`key`, if any.
    pub(crate) async fn delete(self: &Arc<Self>, bucket: &str, key: &str) -> io::Result<()> {
        let id = (bucket.to_owned(), key.to_owned());
        self.run(true, move |store| {
            let stem = hex_name(&format!("{}/{}", id.0, id.1));
            let mut state = store.lock();
            let Some(object) = state.objects.remove(&id) else {
                return Ok(());
            };
            if let Some(dir) = store.objects_dir() {
                // The metadata goes first, so it never names missing data.
                remove_file(&dir.join(format!("{stem}.json")))?;
                sync_dir(&dir)?;
            }
            drop(state);
            remove_data(&object.data)
        })
        .await
    }

    /// Records a new multipart upload.
    pub(crate) async fn create_upload(self: &Arc<Self>, meta: UploadMeta) -> io::Result<()> {
        self.run(false, move |store| {
            if let Some(dir) = store.upload_dir(&meta.id) {
                fs::create_dir_all(&dir)?;
                let json = serde_json::to_vec(&meta).map_err(json_err)?;
                write_file(&dir.join("upload.json"), &json)?;
                sync_dir(&dir)?;
                if let Some(parent) = dir.parent() {
                    sync_dir(parent)?;
                }
            }
            store.lock().uploads.insert(
                meta.id.clone(),
                Upload {
                    meta,
                    parts: BTreeMap::new(),
                },
            );
            Ok(())
        })
        .await
    }

    /// The upload `id` of `bucket`/`key`.
    pub(crate) fn upload(&self, id: &str, bucket: &str, key: &str) -> Option<Upload> {
        self.lock()
            .uploads
            .get(id)
            .filter(|u| u.meta.bucket == bucket && u.meta.key == key)
            .cloned()
    }

    /// The ids of the uploads in progress, sorted.
    pub(crate) fn upload_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().uploads.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Stores `part` of upload `id` (of `bucket`/`key`), taking over its file
    /// if it has one, and replacing a part with its number.
    pub(crate) async fn put_part(
        self: &Arc<Self>,
        id: String,
        bucket: String,
        key: String,
        part: Part,
    ) -> io::Result<Outcome> {
        let io = part.data.path().is_some();
        self.run(io, move |store| {
            let received = part.data.clone();
            let written = store.put_part_blocking(&id, &bucket, &key, part);
            if !matches!(written, Ok(Outcome::Done)) {
                remove_data(&received)?;
            }
            written
        })
        .await
    }

    fn put_part_blocking(
        &self,
        id: &str,
        bucket: &str,
        key: &str,
        part: Part,
    ) -> io::Result<Outcome> {
        let exists = |state: &State| {
            state
                .uploads
                .get(id)
                .is_some_and(|u| u.meta.bucket == bucket && u.meta.key == key)
        };
        if !exists(&self.lock()) {
            return Ok(Outcome::NoSuchUpload);
        }
        let number = part.meta.number;
        let stem = format!("part-{number}");
        let dir = self.upload_dir(id);
        let source = Source::Data(part.data);
        let data = match settle(
            &source,
            dir.as_deref(),
            || self.scratch().map(Path::to_owned),
            &stem,
        ) {
            Ok(data) => data,
            // Aborted meanwhile: its directory is gone.
            Err(_) if !exists(&self.lock()) => return Ok(Outcome::NoSuchUpload),
            Err(e) => return Err(e),
        };
        let mut state = self.lock();
        let committed = match (exists(&state), &dir) {
            (false, _) => Err(Ok(Outcome::NoSuchUpload)),
            (true, Some(dir)) => write_record(dir, &stem, &part.meta, &data).map_err(Err),
            (true, None) => Ok(()),
        };
        if let Err(refusal) = committed {
            drop(state);
            remove_data(&data)?;
            return refusal;
        }
        let part = Part {
            meta: part.meta,
            data,
        };
        let old = state
            .uploads
            .get_mut(id)
            .and_then(|upload| upload.parts.insert(number, part));
        drop(state);
        if let Some(old) = old {
            remove_data(&old.data)?;
        }
        Ok(Outcome::Done)
    }

    /// Removes upload `id` (of `bucket`/`key`) and its parts.
    pub(crate) async fn abort_upload(
        self: &Arc<Self>,
        id: String,
        bucket: String,
        key: String,
    ) -> io::Result<Outcome> {
        self.run(true, move |store| {
            let mut state = store.lock();
            let exists = state
                .uploads
                .get(&id)
                .is_some_and(|u| u.meta.bucket == bucket && u.meta.key == key);
            if !exists {
                return Ok(Outcome::NoSuchUpload);
            }
            let removed = state.uploads.remove(&id);
            drop(state);
            for part in removed.iter().flat_map(|u| u.parts.values()) {
                remove_data(&part.data)?;
            }
            store.remove_upload_files(&id)?;
            Ok(Outcome::Done)
        })
        .await
    }

    /// Removes an upload's directory: `upload.json` first, so a crash midway
    /// leaves a directory that is no upload (and is skipped at start).
    fn remove_upload_files(&self, id: &str) -> io::Result<()> {
        let Some(dir) = self.upload_dir(id) else {
            return Ok(());
        };
        remove_file(&dir.join("upload.json"))?;
        sync_dir(&dir)?;
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn load_objects(dir: &Path, state: &mut State) -> io::Result<()> {
    let mut kept = HashMap::new();
    for path in entries(dir)? {
        if !is_ext(&path, "json") {
            continue;
        }
        let Some((meta, file, data)) = load_record::<ObjectMeta>(&path) else {
            continue;
        };
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            kept.insert(stem.to_owned(), file);
        }
        state.objects.insert(
            (meta.bucket.clone(), meta.key.clone()),
            Object { meta, data },
        );
    }
    clean(dir, &kept)
}

fn load_upload(dir: &Path, state: &mut State) -> io::Result<()> {
    let path = dir.join("upload.json");
    let meta: UploadMeta = match fs::read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            warn(&path, &e);
            return Ok(());
        }
        Ok(raw) => match serde_json::from_slice(&raw) {
            Ok(meta) => meta,
            Err(e) => {
                warn(&path, &format_args!("the metadata does not parse: {e}"));
                return Ok(());
            }
        },
    };
    let mut parts = BTreeMap::new();
    let mut kept = HashMap::new();
    for path in entries(dir)? {
        let is_part = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("part-") && n.ends_with(".json"));
        if !is_part {
            continue;
        }
        let Some((pm, file, data)) = load_record::<PartMeta>(&path) else {
            continue;
        };
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            kept.insert(stem.to_owned(), file);
        }
        parts.insert(pm.number, Part { meta: pm, data });
    }
    clean(dir, &kept)?;
    state
        .uploads
        .insert(meta.id.clone(), Upload { meta, parts });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, data: Vec<u8>) -> Object {
        Object {
            meta: ObjectMeta {
                bucket: "bucket".to_owned(),
                key: key.to_owned(),
                etag: "\"E\"".to_owned(),
                crc64: 0,
                content_type: "application/octet-stream".to_owned(),
                last_modified: 0,
                meta: Vec::new(),
                multipart: false,
            },
            data: Data::Memory(Bytes::from(data)),
        }
    }

    /// With a data directory, a write's bytes reach their file while another
    /// thread holds the store's lock, and the write waits for the lock on a
    /// blocking thread: the runtime's only worker stays free meanwhile.
    #[test]
    fn data_is_written_outside_the_lock_and_off_the_runtime() {
        let dir = std::env::temp_dir().join(format!(
            "osscb-emulator-store-{}-{}",
            std::process::id(),
            crate::server::random_hex(6)
        ));
        let store = Arc::new(Store::open(Some(dir.clone())).unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let guard = store.lock();
        let writer = Arc::clone(&store);
        let put = runtime.spawn(async move {
            writer
                .put(object("big", vec![7u8; 4 * 1024 * 1024]), false)
                .await
        });
        let data_file = || {
            entries(&dir.join("objects"))
                .unwrap()
                .into_iter()
                .find(|p| is_ext(p, "data"))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while data_file().is_none_or(|p| fs::metadata(p).map_or(0, |m| m.len()) < 4 * 1024 * 1024) {
            assert!(std::time::Instant::now() < deadline, "no data written");
            std::thread::sleep(Duration::from_millis(5));
        }
        // The worker is free although the write is waiting for the lock.
        let other = runtime.spawn(async { 42 });
        assert_eq!(runtime.block_on(other).unwrap(), 42);
        assert!(!put.is_finished());
        drop(guard);
        assert_eq!(runtime.block_on(put).unwrap().unwrap(), Outcome::Done);
        let (_, opened) = store.open_object("bucket", "big").unwrap().unwrap();
        assert_eq!(opened.len(), 4 * 1024 * 1024);
        let _ = fs::remove_dir_all(&dir);
    }
}
