//! PutObject, GetObject and HeadObject (with ranges).

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, RANGE,
};
use http::{HeaderName, StatusCode};

use crate::data::{self, Received};
use crate::error::OssError;
use crate::server::{
    Ctx, Resp, Target, Written, callback_of, check_md5, respond, stored, write_answer,
};
use crate::store::{Object, ObjectMeta, epoch_secs, hex_upper};

pub(crate) async fn put_object(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
    body: Received,
) -> Result<Resp, OssError> {
    let checked = callback_of(ctx, target).and_then(|c| Ok((c, check_md5(ctx, body.md5)?)));
    let (callback, md5_b64) = checked.inspect_err(|_| body.data.discard())?;
    let meta = ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: format!("\"{}\"", hex_upper(&body.md5)),
        crc64: body.crc64,
        content_type: ctx.content_type(key),
        last_modified: epoch_secs(SystemTime::now()),
        meta: ctx.user_meta(),
        multipart: false,
    };
    let size = body.data.len();
    let object = Object {
        meta: meta.clone(),
        data: body.data,
    };
    stored(
        ctx.shared.store.put(object, ctx.forbid_overwrite()).await,
        "",
    )?;
    let written = Written {
        meta: &meta,
        size,
        content_md5: Some(md5_b64),
        operation: "PutObject",
    };
    Ok(write_answer(ctx, written, callback, None, StatusCode::OK).await)
}

enum RangeSpec {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else reads the whole object as OSS does.
fn parse_range(header: &str, size: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if spec.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return match b.parse::<u64>() {
            Ok(0) | Err(_) => RangeSpec::Whole,
            Ok(_) if size == 0 => RangeSpec::Unsatisfiable,
            Ok(n) => RangeSpec::Part(size.saturating_sub(n), size - 1),
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Whole;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(end) if end >= start => end,
            _ => return RangeSpec::Whole,
        }
    };
    if start >= size {
        RangeSpec::Unsatisfiable
    } else {
        RangeSpec::Part(start, end.min(size - 1))
    }
}

pub(crate) fn get_object(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    head: bool,
) -> Result<Resp, OssError> {
    let (meta, opened) = ctx
        .shared
        .store
        .open_object(bucket, key)
        .ok_or_else(|| {
            OssError::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
        })?
        .map_err(|e| OssError::internal(e.to_string()))?;
    let size = opened.len();
    let meta = &meta;
    let mut headers = vec![
        (CONTENT_TYPE, meta.content_type.clone()),
        (ETAG, meta.etag.clone()),
        (
            LAST_MODIFIED,
            osscb_core::time::http_date(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(meta.last_modified),
            )
            .unwrap_or_default(),
        ),
        (
            HeaderName::from_static("x-oss-hash-crc64ecma"),
            meta.crc64.to_string(),
        ),
        (
            HeaderName::from_static("x-oss-object-type"),
            if meta.multipart {
                "Multipart"
            } else {
                "Normal"
            }
            .to_owned(),
        ),
        (
            HeaderName::from_static("x-oss-storage-class"),
            "Standard".to_owned(),
        ),
        (ACCEPT_RANGES, "bytes".to_owned()),
    ];
    for (name, value) in &meta.meta {
        if let Ok(name) = HeaderName::try_from(name.as_str()) {
            headers.push((name, value.clone()));
        }
    }
    let range = match ctx.header(RANGE.as_str()) {
        Some(r) => parse_range(r, size),
        None => RangeSpec::Whole,
    };
    let (status, start, len) = match range {
        RangeSpec::Whole => (StatusCode::OK, 0, size),
        RangeSpec::Part(start, end) => {
            headers.push((CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
            (StatusCode::PARTIAL_CONTENT, start, end + 1 - start)
        }
        RangeSpec::Unsatisfiable => {
            return Err(OssError::new(
                416,
                "InvalidRange",
                "The requested range cannot be satisfied.",
            )
            .with(
                "RangeRequested",
                ctx.header(RANGE.as_str()).unwrap_or_default(),
            )
            .with("ActualObjectSize", size.to_string()));
        }
    };
    headers.push((CONTENT_LENGTH, len.to_string()));
    let mut response = respond(status, &headers, Bytes::new());
    if head {
        return Ok(response);
    }
    let damage = len > 0 && ctx.shared.faults.take_corrupt_body();
    *response.body_mut() =
        data::stream(opened, start, len, damage).map_err(|e| OssError::internal(e.to_string()))?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let show = |r: RangeSpec| match r {
            RangeSpec::Whole => "whole".to_owned(),
            RangeSpec::Part(a, b) => format!("{a}-{b}"),
            RangeSpec::Unsatisfiable => "416".to_owned(),
        };
        assert_eq!(show(parse_range("bytes=0-4", 10)), "0-4");
        assert_eq!(show(parse_range("bytes=5-", 10)), "5-9");
        assert_eq!(show(parse_range("bytes=-3", 10)), "7-9");
        assert_eq!(show(parse_range("bytes=-30", 10)), "0-9");
        assert_eq!(show(parse_range("bytes=8-100", 10)), "8-9");
        assert_eq!(show(parse_range("bytes=10-", 10)), "416");
        assert_eq!(show(parse_range("bytes=4-2", 10)), "whole");
        assert_eq!(show(parse_range("bytes=a-b", 10)), "whole");
        assert_eq!(show(parse_range("items=0-1", 10)), "whole");
        assert_eq!(show(parse_range("bytes=0-1,3-4", 10)), "whole");
    }
}
