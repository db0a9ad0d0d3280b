//! The transfer figures against an emulator on loopback: PutObject of a
//! file, a multipart upload with a callback, and many small puts with and
//! without callbacks; plus the presigned PUT URL `curl -T` uses.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use osscb_core::ops::PutObject;
use osscb_core::{Bucket, Credentials, ObjectKey};
use serde_json::json;

use crate::receiver::Receiver;
use crate::timing::median;
use crate::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, BUCKET, Result};

/// A load round that takes longer fails the figure.
const ROUND_DEADLINE: Duration = Duration::from_secs(120);

fn options(endpoint: &str) -> osscb_core::transport::ClientOptions {
    osscb_core::transport::ClientOptions::default()
        .endpoint(endpoint)
        .credentials(Credentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
}

pub(crate) fn blocking(endpoint: &str) -> Result<osscb_blocking::Bucket> {
    osscb_blocking::Client::new(options(endpoint))
        .and_then(|client| client.bucket(BUCKET))
        .map_err(|e| e.to_string())
}

pub(crate) fn nonblocking(endpoint: &str) -> Result<osscb_async::Bucket> {
    osscb_async::Client::new(options(endpoint))
        .and_then(|client| client.bucket(BUCKET))
        .map_err(|e| e.to_string())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn file_len(file: &str) -> Result<u64> {
    std::fs::metadata(file)
        .map(|m| m.len())
        .map_err(|e| format!("{file}: {e}"))
}

/// A presigned PUT URL for `key`, valid for an hour, and the headers it
/// must be sent with: `{"url": …, "header:NAME": VALUE, …}`.
pub(crate) fn presign_put(endpoint: &str, key: &str) -> Result {
    let bucket = blocking(endpoint)?;
    let op = PutObject::new(
        Bucket::new(BUCKET).map_err(|e| e.to_string())?,
        ObjectKey::new(key).map_err(|e| e.to_string())?,
    );
    let presigned = bucket
        .presign(&op, Duration::from_secs(3600))
        .map_err(|e| e.to_string())?;
    // Flat (the xtask reads it without a JSON library): `header:NAME` keys.
    let mut line = serde_json::Map::new();
    line.insert("url".to_owned(), json!(presigned.url.to_string()));
    for (name, value) in &presigned.headers {
        let value = value.to_str().map_err(|e| e.to_string())?;
        line.insert(format!("header:{}", name.as_str()), json!(value));
    }
    crate::emit(&serde_json::Value::Object(line));
    Ok(())
}

/// One PutObject of `file`, streamed: MB/s (10^6 bytes) and peak RSS.
pub(crate) fn put(mode: &str, endpoint: &str, file: &str) -> Result {
    let len = file_len(file)?;
    let key = format!("bench/put-{mode}.bin");
    let options = osscb_core::upload::UploadOptions::new();
    let started;
    match mode {
        "blocking" => {
            let bucket = blocking(endpoint)?;
            started = Instant::now();
            bucket
                .put_object_from_file(&key, file, &options)
                .map_err(|e| e.to_string())?;
        }
        "async" => {
            let bucket = nonblocking(endpoint)?;
            let runtime = runtime()?;
            started = Instant::now();
            runtime
                .block_on(bucket.put_object_from_file(&key, file, &options))
                .map_err(|e| e.to_string())?;
        }
        other => return Err(format!("unknown mode {other:?}")),
    }
    let seconds = started.elapsed().as_secs_f64();
    crate::emit(&json!({
        "figure": "put",
        "mode": mode,
        "bytes": len,
        "seconds": seconds,
        "mb_s": len as f64 / 1e6 / seconds,
        "rss_kib": crate::peak_rss_kib(),
    }));
    Ok(())
}

/// One multipart upload of `file` with a callback: MB/s, peak RSS, and
/// whether the callback arrived and verified.
pub(crate) fn multipart(
    mode: &str,
    endpoint: &str,
    file: &str,
    part_mib: usize,
    parallelism: usize,
) -> Result {
    let len = file_len(file)?;
    let receiver = Receiver::start(endpoint)?;
    let key = format!("bench/multipart-{mode}-{parallelism}.bin");
    let options = osscb_core::upload::UploadOptions::new()
        .part_size(part_mib as u64 * 1024 * 1024)
        .parallelism(parallelism)
        .callback(receiver.callback()?);
    let started;
    let answered = match mode {
        "blocking" => {
            let bucket = blocking(endpoint)?;
            started = Instant::now();
            bucket
                .upload_file(&key, file, &options)
                .map_err(|e| e.to_string())?
                .callback
                .is_some()
        }
        "async" => {
            let bucket = nonblocking(endpoint)?;
            let runtime = runtime()?;
            started = Instant::now();
            runtime
                .block_on(bucket.upload_file(&key, Path::new(file), &options))
                .map_err(|e| e.to_string())?
                .callback
                .is_some()
        }
        other => return Err(format!("unknown mode {other:?}")),
    };
    let seconds = started.elapsed().as_secs_f64();
    crate::emit(&json!({
        "figure": "multipart",
        "mode": mode,
        "parallelism": parallelism,
        "bytes": len,
        "seconds": seconds,
        "mb_s": len as f64 / 1e6 / seconds,
        "rss_kib": crate::peak_rss_kib(),
        "callback_verified": answered && receiver.verified() == 1 && receiver.rejected() == 0,
    }));
    Ok(())
}

/// `puts` async PutObjects of `size` bytes, `in_flight` at once, with
/// callbacks and without, in alternating rounds: the median ops/s of each,
/// and the callbacks verified (all of them, or the figure fails).
pub(crate) fn load(endpoint: &str, [puts, in_flight, size]: [usize; 3], rounds: usize) -> Result {
    let receiver = Receiver::start(endpoint)?;
    let bucket = nonblocking(endpoint)?;
    let runtime = runtime()?;
    let body = bytes::Bytes::from(vec![0x5a; size]);
    let with = Arc::new(osscb_core::upload::UploadOptions::new().callback(receiver.callback()?));
    let without = Arc::new(osscb_core::upload::UploadOptions::new());
    let (mut with_rates, mut without_rates) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        for (options, rates, callback) in [
            (&without, &mut without_rates, false),
            (&with, &mut with_rates, true),
        ] {
            let started = Instant::now();
            let job = many(&bucket, &body, options, callback, [puts, in_flight, round]);
            runtime
                .block_on(async { tokio::time::timeout(ROUND_DEADLINE, job).await })
                .map_err(|_| format!("a load round took over {ROUND_DEADLINE:?}"))??;
            rates.push(puts as f64 / started.elapsed().as_secs_f64());
        }
    }
    // Callbacks are delivered before OSS answers the put, so all are counted.
    let expected = puts * rounds.max(1);
    let (verified, rejected) = (receiver.verified(), receiver.rejected());
    if verified != expected || rejected != 0 {
        return Err(format!(
            "{verified} callbacks verified and {rejected} rejected, of {expected}"
        ));
    }
    crate::emit(&json!({
        "figure": "load",
        "puts": puts,
        "in_flight": in_flight,
        "size": size,
        "rounds": rounds,
        "with_callback_ops_s": median(with_rates),
        "without_callback_ops_s": median(without_rates),
        "callbacks_verified": verified,
        "callbacks_expected": expected,
        "rss_kib": crate::peak_rss_kib(),
    }));
    Ok(())
}

async fn many(
    bucket: &osscb_async::Bucket,
    body: &bytes::Bytes,
    options: &Arc<osscb_core::upload::UploadOptions>,
    callback: bool,
    [puts, in_flight, round]: [usize; 3],
) -> Result {
    let permits = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..puts {
        let (bucket, body, options) = (bucket.clone(), body.clone(), Arc::clone(options));
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
            let key = format!("bench/load/{round}-{callback}-{i:05}.bin");
            let output = bucket
                .put_object(&key, body, &options)
                .await
                .map_err(|e| format!("{key}: {e}"))?;
            if callback && output.callback.is_none() {
                return Err(format!("{key}: no callback answer"));
            }
            Ok::<_, String>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| e.to_string())??;
    }
    Ok(())
}
