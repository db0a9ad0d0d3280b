//! The multipart upload machine fed any checkpoint file (user input read
//! from disk) and any answers: the InitiateMultipartUpload and
//! CompleteMultipartUpload XML, part ETags and CRC-64s, errors, lost
//! answers. No panic, and it always finishes within a bounded number of
//! steps once the answers run out (every request then fails locally).

#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use osscb_core::callback::Callback;
use osscb_core::flow::{Answer, Fact, Flow, Multipart, Step};
use osscb_core::retry::RetryPolicy;
use osscb_core::upload::UploadOptions;
use osscb_core::{Bucket, Config, Credentials, Endpoint, Error, ObjectKey};

/// 100 KiB, OSS's smallest part.
const PART: u64 = 100 * 1024;

#[derive(Arbitrary, Debug)]
struct Input {
    /// File size in parts (up to 4) and extra bytes.
    parts: u8,
    extra: u16,
    parallelism: u8,
    callback: bool,
    checkpoint: bool,
    saved: Option<Vec<u8>>,
    seed: u64,
    answers: Vec<Reply>,
}

#[derive(Arbitrary, Debug)]
enum Reply {
    Response {
        status: u16,
        headers: Vec<(u8, String)>,
        body: Body,
        sent_crc64: u64,
    },
    Failed(u8),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Bytes(Vec<u8>),
    Initiate(String),
    Complete(String, String),
    Error(String, String),
}

const HEADERS: &[&str] = &[
    "etag",
    "x-oss-hash-crc64ecma",
    "x-oss-request-id",
    "content-type",
    "content-length",
    "x-oss-err",
    "x-oss-object-type",
    "x-oss-version-id",
];

fn body(body: &Body) -> Vec<u8> {
    match body {
        Body::Bytes(b) => b.clone(),
        Body::Initiate(id) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>examplebucket</Bucket><Key>dir/file.bin</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
        )
        .into_bytes(),
        Body::Complete(location, etag) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult><Location>{location}</Location><Bucket>examplebucket</Bucket><Key>dir/file.bin</Key><ETag>{etag}</ETag></CompleteMultipartUploadResult>"
        )
        .into_bytes(),
        Body::Error(code, message) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>R</RequestId></Error>"
        )
        .into_bytes(),
    }
}

fn answer(reply: Option<&Reply>) -> Answer<Error> {
    let local = || Answer::Failed {
        fact: Fact::Local,
        sent_crc64: 0,
        error: Error::InvalidArgument("the fuzz input ran out of answers".to_owned()),
    };
    match reply {
        None => local(),
        Some(Reply::Failed(n)) => Answer::Failed {
            fact: [Fact::NotSent, Fact::NoAnswer, Fact::TimedOut, Fact::Local][usize::from(*n) % 4],
            sent_crc64: 0,
            error: Error::InvalidArgument("fuzzed failure".to_owned()),
        },
        Some(Reply::Response {
            status,
            headers,
            body: b,
            sent_crc64,
        }) => {
            let mut response = http::Response::builder().status(*status);
            for (name, value) in headers {
                if let Ok(value) = http::HeaderValue::from_str(value) {
                    response = response.header(HEADERS[usize::from(*name) % HEADERS.len()], value);
                }
            }
            match response.body(body(b)) {
                Ok(response) => Answer::Response {
                    response,
                    sent_crc64: *sent_crc64,
                    received_crc64: None,
                },
                Err(_) => local(),
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let (Ok(bucket), Ok(key), Ok(endpoint)) = (
        Bucket::new("examplebucket"),
        ObjectKey::new("dir/file.bin"),
        Endpoint::parse("http://127.0.0.1:1"),
    ) else {
        return;
    };
    let size = u64::from(input.parts % 5) * PART + u64::from(input.extra);
    let mut options = UploadOptions::new()
        .part_size(PART)
        .parallelism(usize::from(input.parallelism % 4) + 1);
    if input.checkpoint {
        options = options.checkpoint("/nonexistent/osscb-fuzz.checkpoint");
    }
    if input.callback
        && let Ok(callback) = Callback::builder("http://127.0.0.1:1/cb")
            .body("b=${bucket}")
            .build()
    {
        options = options.callback(callback);
    }
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let Ok(mut upload) = Multipart::<Error>::new(
        &bucket,
        &key,
        &options,
        (size, modified),
        Some("file.bin"),
        RetryPolicy::default(),
        input.seed,
    ) else {
        return;
    };
    let config = Config::v1(endpoint);
    let credentials = Credentials::new("id", "secret");
    let mut now = modified;
    let mut answers = input.answers.iter();
    let mut in_flight = Vec::new();
    // Each answer is used once; past them every request fails locally, which
    // ends the upload: the bound is generous.
    let limit = 64 + 16 * input.answers.len();
    for _ in 0..limit {
        match upload.next(now) {
            Step::Send(send) => {
                let id = send.id;
                let _ = send.into_http(&config, &credentials, now);
                in_flight.push(id);
            }
            Step::Wait(until) => {
                if let Some(id) = in_flight.pop() {
                    upload.on_answer(id, answer(answers.next()));
                }
                now = now.max(until);
            }
            Step::Pending => match in_flight.pop() {
                Some(id) => upload.on_answer(id, answer(answers.next())),
                None => panic!("pending with nothing in flight"),
            },
            Step::Load(_) => upload.on_loaded(input.saved.clone()),
            Step::Save(..) | Step::Remove(_) => {}
            Step::Read(_) => panic!("a file upload never reads a pipe"),
            Step::Done(_) => return,
        }
        // Answer in the order the machine asked, one per step.
        if in_flight.len() > 1 {
            let id = in_flight.remove(0);
            upload.on_answer(id, answer(answers.next()));
        }
    }
    panic!("the upload did not finish in {limit} steps");
});
