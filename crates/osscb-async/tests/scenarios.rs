//! Every end-to-end scenario of osscb-testkit, run on this transport (each
//! call driven to its end on a tokio runtime).

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use osscb_async::osscb_core::ops::CompleteMultipartUploadOutput;
use osscb_async::osscb_core::ops::{
    DeleteObjectOutput, GetObject, GetObjectOutput, ObjectMetadata, Operation, PutObjectOutput,
};
use osscb_async::osscb_core::verify::{VerifiedCallback, Verifier, VerifyError};
use osscb_async::osscb_core::{self as core, Config, PresignedRequest, http};
use osscb_async::{Bucket, Client, ClientOptions, Error, UploadOptions, UploadOutput};
use osscb_testkit::{Settings, Transport};

#[derive(Debug)]
struct Async(Bucket);

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

impl Transport for Async {
    type Error = Error;

    fn build(s: Settings) -> Result<Self, Error> {
        let mut options = ClientOptions::default()
            .endpoint(s.endpoint)
            .credentials_source(s.credentials)
            .retry_policy(s.retry)
            .io_timeout(s.io_timeout);
        if let Some(region) = s.region {
            options = options.region(region);
        }
        Ok(Self(Client::new(options)?.bucket(&s.bucket)?))
    }
    fn from_env() -> Result<Self, Error> {
        Ok(Self(Client::from_env()?.bucket("examplebucket")?))
    }
    fn oss(error: &Error) -> Option<&core::Error> {
        Some(error)
    }
    fn missing_env(error: &Error) -> Option<&'static str> {
        match error {
            Error::MissingEnv(name) => Some(name),
            _ => None,
        }
    }
    fn verify_error(error: &Error) -> Option<&VerifyError> {
        match error {
            Error::Verify(e) => Some(e),
            _ => None,
        }
    }
    fn config(&self) -> &Config {
        self.0.client().config()
    }
    fn name(&self) -> &core::Bucket {
        self.0.name()
    }
    fn put_object(&self, k: &str, b: &[u8], o: &UploadOptions) -> Result<PutObjectOutput, Error> {
        block_on(self.0.put_object(k, b.to_vec(), o))
    }
    fn put_object_from_file(
        &self,
        k: &str,
        p: &Path,
        o: &UploadOptions,
    ) -> Result<PutObjectOutput, Error> {
        block_on(self.0.put_object_from_file(k, p, o))
    }
    fn upload_file(
        &self,
        k: &str,
        p: &Path,
        o: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput, Error> {
        block_on(self.0.upload_file(k, p, o))
    }
    fn upload_reader(
        &self,
        k: &str,
        r: &mut (dyn std::io::Read + Send),
        o: &UploadOptions,
    ) -> Result<UploadOutput, Error> {
        // Chunks of 1..=40,000 bytes, unevenly.
        let mut n = 0_usize;
        let chunks = futures_util::stream::poll_fn(move |_| {
            n += 1;
            let mut chunk = vec![0; 1 + (n * 7919) % 40_000];
            std::task::Poll::Ready(match r.read(&mut chunk) {
                Ok(0) => None,
                Ok(got) => {
                    chunk.truncate(got);
                    Some(Ok(bytes::Bytes::from(chunk)))
                }
                Err(e) => Some(Err(e)),
            })
        });
        block_on(self.0.upload_stream(k, chunks, o))
    }
    fn get_object(&self, k: &str) -> Result<(GetObjectOutput, Vec<u8>), Error> {
        block_on(self.0.get_object(k))
    }
    fn get_object_to_file(&self, k: &str, p: &Path) -> Result<GetObjectOutput, Error> {
        block_on(self.0.get_object_to_file(k, p))
    }
    fn read_object(&self, op: GetObject) -> Result<(GetObjectOutput, Vec<u8>), Error> {
        block_on(async {
            use futures_util::TryStreamExt as _;
            let stream = self.0.open_object(op).await?;
            let output = stream.output().clone();
            let chunks: Vec<_> = stream.try_collect().await?;
            Ok((output, chunks.concat()))
        })
    }
    fn head_object(&self, k: &str) -> Result<ObjectMetadata, Error> {
        block_on(self.0.head_object(k))
    }
    fn delete_object(&self, k: &str) -> Result<DeleteObjectOutput, Error> {
        block_on(self.0.delete_object(k))
    }
    fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output, Error> {
        block_on(self.0.client().send(op))
    }
    fn presign<O: Operation>(&self, op: &O, e: Duration) -> Result<PresignedRequest, Error> {
        block_on(self.0.presign(op, e))
    }
    fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        p: &PresignedRequest,
        b: &[u8],
    ) -> Result<O::Output, Error> {
        block_on(self.0.client().send_presigned(op, p, b.to_vec()))
    }
    fn verify_callback(
        v: &Verifier,
        r: &http::Request<Vec<u8>>,
    ) -> Result<VerifiedCallback, Error> {
        block_on(osscb_async::verify_callback(v, r))
    }
}

osscb_testkit::scenarios!(Async);
