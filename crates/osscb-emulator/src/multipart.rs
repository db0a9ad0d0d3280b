//! Multipart upload: initiate, upload part, complete (with callbacks), abort, list parts.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, ETAG};
use http::{HeaderName, StatusCode};
use md5::{Digest as _, Md5};
use osscb_core::crc64;
use serde::Deserialize;

use crate::auth::iso8601;
use crate::data::Received;
use crate::error::OssError;
use crate::server::{
    Ctx, MIN_PART_SIZE, Resp, Target, Written, callback_of, check_md5, host_bucket, random_hex,
    respond, stored, write_answer,
};
use crate::store::{ObjectMeta, Part, PartMeta, UploadMeta, epoch_secs, hex_upper};
use crate::xml::Xml;

pub(crate) async fn initiate(ctx: &Ctx<'_>, bucket: &str, key: &str) -> Result<Resp, OssError> {
    let id = random_hex(16);
    ctx.shared
        .store
        .create_upload(UploadMeta {
            id: id.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            content_type: ctx.content_type(key),
            meta: ctx.user_meta(),
        })
        .await
        .map_err(|e| OssError::internal(e.to_string()))?;
    let mut xml = Xml::new("InitiateMultipartUploadResult");
    xml.leaf("Bucket", bucket)
        .leaf("Key", key)
        .leaf("UploadId", &id);
    Ok(respond(
        StatusCode::OK,
        &[(CONTENT_TYPE, "application/xml".to_owned())],
        Bytes::from(xml.finish()),
    ))
}

fn upload_id(target: &Target) -> &str {
    target.query("uploadId").unwrap_or_default()
}

pub(crate) async fn upload_part(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
    body: Received,
) -> Result<Resp, OssError> {
    let id = upload_id(target);
    let checked = part_number(target).and_then(|n| Ok((n, check_md5(ctx, body.md5)?)));
    let (number, _) = checked.inspect_err(|_| body.data.discard())?;
    let meta = PartMeta {
        number,
        etag: format!("\"{}\"", hex_upper(&body.md5)),
        md5: body.md5,
        crc64: body.crc64,
        size: body.data.len(),
        last_modified: epoch_secs(SystemTime::now()),
    };
    let part = Part {
        meta: meta.clone(),
        data: body.data,
    };
    stored(
        ctx.shared
            .store
            .put_part(id.to_owned(), bucket.to_owned(), key.to_owned(), part)
            .await,
        id,
    )?;
    ctx.shared.stats.upload_part.fetch_add(1, Ordering::SeqCst);
    let mut crc = meta.crc64;
    if ctx.shared.faults.take_corrupt_crc64() {
        crc ^= 0x5555_5555_5555_5555;
    }
    Ok(respond(
        StatusCode::OK,
        &[
            (ETAG, meta.etag),
            (
                HeaderName::from_static("x-oss-hash-crc64ecma"),
                crc.to_string(),
            ),
        ],
        Bytes::new(),
    ))
}

/// The `partNumber` of an UploadPart: 1 to 10,000.
fn part_number(target: &Target) -> Result<u32, OssError> {
    target
        .query("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            OssError::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
            .with("ArgumentName", "partNumber")
            .with(
                "ArgumentValue",
                target.query("partNumber").unwrap_or_default(),
            )
        })
}

#[derive(Deserialize)]
struct CompleteXml {
    #[serde(rename = "Part", default)]
    parts: Vec<CompletePartXml>,
}

#[derive(Deserialize)]
struct CompletePartXml {
    #[serde(rename = "PartNumber")]
    number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

fn same_etag(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

pub(crate) async fn complete(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> Result<Resp, OssError> {
    let id = upload_id(target);
    let callback = callback_of(ctx, target)?;
    let upload = ctx
        .shared
        .store
        .upload(id, bucket, key)
        .ok_or_else(|| OssError::no_such_upload(id))?;
    let listed: CompleteXml = std::str::from_utf8(body)
        .ok()
        .and_then(|t| quick_xml::de::from_str(t).ok())
        .ok_or_else(OssError::malformed_xml)?;
    if listed.parts.is_empty() {
        return Err(OssError::malformed_xml());
    }
    if listed.parts.windows(2).any(|w| w[0].number >= w[1].number) {
        return Err(OssError::new(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts list must specified in order by part number.",
        )
        .with("UploadId", id));
    }
    let mut chosen = Vec::with_capacity(listed.parts.len());
    for p in &listed.parts {
        match upload.parts.get(&p.number) {
            Some(part) if same_etag(&part.meta.etag, &p.etag) => chosen.push(part),
            _ => {
                return Err(OssError::new(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
                )
                .with("UploadId", id)
                .with("PartNumber", p.number.to_string())
                .with("ETag", p.etag.as_str()));
            }
        }
    }
    let last = chosen.len() - 1;
    for (i, part) in chosen.iter().enumerate() {
        if i < last && part.meta.size < MIN_PART_SIZE {
            return Err(OssError::new(
                400,
                "EntityTooSmall",
                "Your proposed upload smaller than the minimum allowed size.",
            )
            .with("MinSizeAllowed", MIN_PART_SIZE.to_string())
            .with("ProposedSize", part.meta.size.to_string())
            .with("PartNumber", part.meta.number.to_string())
            .with("PartEtag", part.meta.etag.as_str()));
        }
    }
    let mut md5s = Md5::new();
    let mut crc = 0u64;
    let mut size = 0;
    for part in &chosen {
        size += part.meta.size;
        md5s.update(part.meta.md5);
        crc = crc64::combine(crc, part.meta.crc64, part.meta.size);
    }
    let meta = ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: format!("\"{}-{}\"", hex_upper(&md5s.finalize()), chosen.len()),
        crc64: crc,
        content_type: upload.meta.content_type.clone(),
        last_modified: epoch_secs(SystemTime::now()),
        meta: upload.meta.meta.clone(),
        multipart: true,
    };
    let parts = chosen.iter().map(|p| p.data.clone()).collect();
    stored(
        ctx.shared
            .store
            .complete(meta.clone(), parts, id.to_owned(), ctx.forbid_overwrite())
            .await,
        id,
    )?;
    let host = ctx.host_id;
    let location = if host_bucket(host).is_some() {
        format!("http://{host}/{key}")
    } else {
        format!("http://{host}/{bucket}/{key}")
    };
    let mut xml = Xml::new("CompleteMultipartUploadResult");
    xml.leaf("Location", &location)
        .leaf("Bucket", bucket)
        .leaf("Key", key)
        .leaf("ETag", &meta.etag);
    let written = Written {
        meta: &meta,
        size,
        content_md5: None,
        operation: "CompleteMultipartUpload",
    };
    Ok(write_answer(ctx, written, callback, Some(xml.finish()), StatusCode::OK).await)
}

pub(crate) async fn abort_upload(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Resp, OssError> {
    ctx.shared
        .stats
        .abort_multipart
        .fetch_add(1, Ordering::SeqCst);
    let id = upload_id(target);
    stored(
        ctx.shared
            .store
            .abort_upload(id.to_owned(), bucket.to_owned(), key.to_owned())
            .await,
        id,
    )?;
    Ok(respond(StatusCode::NO_CONTENT, &[], Bytes::new()))
}

pub(crate) fn list_parts(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
) -> Result<Resp, OssError> {
    let id = upload_id(target);
    let number = |name: &str, default: u32| -> Result<u32, OssError> {
        match target.query(name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                OssError::invalid_argument(format!("{name} must be an integer."))
                    .with("ArgumentName", name)
                    .with("ArgumentValue", v)
            }),
        }
    };
    let max = number("max-parts", 1000)?.clamp(1, 1000);
    let marker = number("part-number-marker", 0)?;
    let upload = ctx
        .shared
        .store
        .upload(id, bucket, key)
        .ok_or_else(|| OssError::no_such_upload(id))?;
    let mut remaining = upload.parts.range(marker.saturating_add(1)..).peekable();
    let mut listed = Vec::new();
    while listed.len() < max as usize {
        match remaining.next() {
            Some((_, part)) => listed.push(part),
            None => break,
        }
    }
    let truncated = remaining.peek().is_some();
    let next = listed.last().map_or(marker, |p| p.meta.number);
    let mut xml = Xml::new("ListPartsResult");
    xml.leaf("Bucket", bucket)
        .leaf("Key", key)
        .leaf("UploadId", id)
        .leaf("PartNumberMarker", &marker.to_string())
        .leaf("NextPartNumberMarker", &next.to_string())
        .leaf("MaxParts", &max.to_string())
        .leaf("IsTruncated", if truncated { "true" } else { "false" });
    for part in listed {
        xml.open("Part")
            .leaf("PartNumber", &part.meta.number.to_string())
            .leaf("LastModified", &iso8601(part.meta.last_modified))
            .leaf("ETag", &part.meta.etag)
            .leaf("HashCrc64ecma", &part.meta.crc64.to_string())
            .leaf("Size", &part.meta.size.to_string())
            .close();
    }
    Ok(respond(
        StatusCode::OK,
        &[(CONTENT_TYPE, "application/xml".to_owned())],
        Bytes::from(xml.finish()),
    ))
}
