//! A checkpoint file is user input read from disk: any bytes given to the
//! multipart machine as the saved checkpoint must not panic it, and it must
//! either resume, discard the stale upload, or start afresh.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use osscb_core::flow::{Flow, Multipart, Step};
use osscb_core::retry::RetryPolicy;
use osscb_core::upload::UploadOptions;
use osscb_core::{Bucket, Error, ObjectKey};

fuzz_target!(|saved: &[u8]| {
    let (Ok(bucket), Ok(key)) = (Bucket::new("examplebucket"), ObjectKey::new("dir/file.bin"))
    else {
        return;
    };
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .checkpoint("/nonexistent/osscb-fuzz.checkpoint");
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let upload = Multipart::<Error>::new(
        &bucket,
        &key,
        &options,
        (250_000, modified),
        Some("file.bin"),
        RetryPolicy::default(),
        1,
    );
    let Ok(mut upload) = upload else {
        panic!("a valid upload was refused");
    };
    // The machine asks for its checkpoint first; answer with the input.
    match upload.next(modified) {
        Step::Load(_) => upload.on_loaded(Some(saved.to_vec())),
        other => panic!("expected the checkpoint to be loaded first, got {other:?}"),
    }
    // The first steps: an abort of a stale upload, parts of a resumed one, or
    // an initiate; never the end before any request.
    for _ in 0..8 {
        match upload.next(modified) {
            Step::Send(_) => return,
            Step::Done(result) => panic!("done before any request: {:?}", result.map(drop)),
            _ => {}
        }
    }
    panic!("no request in the first steps");
});
