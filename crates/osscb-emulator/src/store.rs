//! Objects and multipart uploads, in memory, written through to a directory
//! when one is configured (and loaded from it at start).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

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
    pub(crate) data: Bytes,
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
    pub(crate) data: Bytes,
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

/// Objects and uploads.
#[derive(Debug, Default)]
pub(crate) struct Store {
    dir: Option<PathBuf>,
    objects: HashMap<(String, String), Object>,
    uploads: HashMap<String, Upload>,
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

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn json_err(e: serde_json::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Store {
    /// A memory store, or one loaded from and written through to `dir`.
    pub(crate) fn open(dir: Option<PathBuf>) -> io::Result<Self> {
        let mut store = Self {
            dir: dir.clone(),
            ..Self::default()
        };
        let Some(dir) = dir else {
            return Ok(store);
        };
        std::fs::create_dir_all(dir.join("objects"))?;
        std::fs::create_dir_all(dir.join("uploads"))?;
        for entry in std::fs::read_dir(dir.join("objects"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let meta: ObjectMeta =
                    serde_json::from_slice(&std::fs::read(&path)?).map_err(json_err)?;
                let data = Bytes::from(std::fs::read(path.with_extension("data"))?);
                store.objects.insert(
                    (meta.bucket.clone(), meta.key.clone()),
                    Object { meta, data },
                );
            }
        }
        for entry in std::fs::read_dir(dir.join("uploads"))? {
            let updir = entry?.path();
            let Ok(raw) = std::fs::read(updir.join("upload.json")) else {
                continue;
            };
            let meta: UploadMeta = serde_json::from_slice(&raw).map_err(json_err)?;
            let mut parts = BTreeMap::new();
            for part in std::fs::read_dir(&updir)? {
                let path = part?.path();
                let is_part = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-") && n.ends_with(".json"));
                if is_part {
                    let pm: PartMeta =
                        serde_json::from_slice(&std::fs::read(&path)?).map_err(json_err)?;
                    let data = Bytes::from(std::fs::read(path.with_extension("data"))?);
                    parts.insert(pm.number, Part { meta: pm, data });
                }
            }
            store
                .uploads
                .insert(meta.id.clone(), Upload { meta, parts });
        }
        Ok(store)
    }

    fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join("objects").join(hex_name(&format!("{bucket}/{key}"))))
    }

    fn upload_dir(&self, id: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join("uploads").join(hex_name(id)))
    }

    pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<&Object> {
        self.objects.get(&(bucket.to_owned(), key.to_owned()))
    }

    pub(crate) fn put(&mut self, object: Object) -> io::Result<()> {
        if let Some(path) = self.object_path(&object.meta.bucket, &object.meta.key) {
            write_atomic(&path.with_extension("data"), &object.data)?;
            let json = serde_json::to_vec(&object.meta).map_err(json_err)?;
            write_atomic(&path.with_extension("json"), &json)?;
        }
        self.objects.insert(
            (object.meta.bucket.clone(), object.meta.key.clone()),
            object,
        );
        Ok(())
    }

    pub(crate) fn delete(&mut self, bucket: &str, key: &str) -> io::Result<()> {
        if self
            .objects
            .remove(&(bucket.to_owned(), key.to_owned()))
            .is_some()
            && let Some(path) = self.object_path(bucket, key)
        {
            std::fs::remove_file(path.with_extension("json"))?;
            std::fs::remove_file(path.with_extension("data"))?;
        }
        Ok(())
    }

    pub(crate) fn create_upload(&mut self, meta: UploadMeta) -> io::Result<()> {
        if let Some(dir) = self.upload_dir(&meta.id) {
            std::fs::create_dir_all(&dir)?;
            let json = serde_json::to_vec(&meta).map_err(json_err)?;
            write_atomic(&dir.join("upload.json"), &json)?;
        }
        self.uploads.insert(
            meta.id.clone(),
            Upload {
                meta,
                parts: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// The upload `id` of `bucket`/`key`.
    pub(crate) fn upload(&self, id: &str, bucket: &str, key: &str) -> Option<&Upload> {
        self.uploads
            .get(id)
            .filter(|u| u.meta.bucket == bucket && u.meta.key == key)
    }

    /// The ids of the uploads in progress, sorted.
    pub(crate) fn upload_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.uploads.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub(crate) fn put_part(&mut self, id: &str, part: Part) -> io::Result<()> {
        if let Some(dir) = self.upload_dir(id) {
            let base = dir.join(format!("part-{}", part.meta.number));
            write_atomic(&base.with_extension("data"), &part.data)?;
            let json = serde_json::to_vec(&part.meta).map_err(json_err)?;
            write_atomic(&base.with_extension("json"), &json)?;
        }
        if let Some(upload) = self.uploads.get_mut(id) {
            upload.parts.insert(part.meta.number, part);
        }
        Ok(())
    }

    pub(crate) fn remove_upload(&mut self, id: &str) -> io::Result<()> {
        self.uploads.remove(id);
        if let Some(dir) = self.upload_dir(id)
            && dir.exists()
        {
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    }
}
