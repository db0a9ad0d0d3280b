//! Every end-to-end scenario of osscb-testkit, run on this transport.

use std::path::Path;
use std::time::Duration;

use osscb_blocking::osscb_core::ops::CompleteMultipartUploadOutput;
use osscb_blocking::osscb_core::ops::{
    DeleteObjectOutput, GetObject, GetObjectOutput, ObjectMetadata, Operation, PutObjectOutput,
};
use osscb_blocking::osscb_core::verify::{VerifiedCallback, Verifier, VerifyError};
use osscb_blocking::osscb_core::{self as core, Config, PresignedRequest, http};
use osscb_blocking::{Bucket, Client, ClientOptions, Error, UploadOptions, UploadOutput};
use osscb_testkit::{Settings, Transport};

#[derive(Debug)]
struct Blocking(Bucket);

impl Transport for Blocking {
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
        self.0.put_object(k, b, o)
    }
    fn put_object_from_file(
        &self,
        k: &str,
        p: &Path,
        o: &UploadOptions,
    ) -> Result<PutObjectOutput, Error> {
        self.0.put_object_from_file(k, p, o)
    }
    fn upload_file(
        &self,
        k: &str,
        p: &Path,
        o: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput, Error> {
        self.0.upload_file(k, p, o)
    }
    fn upload_reader(
        &self,
        k: &str,
        r: &mut (dyn std::io::Read + Send),
        o: &UploadOptions,
    ) -> Result<UploadOutput, Error> {
        self.0.upload_reader(k, r, o)
    }
    fn get_object(&self, k: &str) -> Result<(GetObjectOutput, Vec<u8>), Error> {
        self.0.get_object(k)
    }
    fn get_object_to_file(&self, k: &str, p: &Path) -> Result<GetObjectOutput, Error> {
        self.0.get_object_to_file(k, p)
    }
    fn read_object(&self, op: GetObject) -> Result<(GetObjectOutput, Vec<u8>), Error> {
        let mut reader = self.0.open_object(op)?;
        let mut body = Vec::new();
        match std::io::Read::read_to_end(&mut reader, &mut body) {
            Ok(_) => Ok((reader.output().clone(), body)),
            Err(e) => match e.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(error)) => Err(*error),
                Some(Err(other)) => Err(Error::Transport(other)),
                None => Err(Error::InvalidArgument("read failed".to_owned())),
            },
        }
    }
    fn head_object(&self, k: &str) -> Result<ObjectMetadata, Error> {
        self.0.head_object(k)
    }
    fn delete_object(&self, k: &str) -> Result<DeleteObjectOutput, Error> {
        self.0.delete_object(k)
    }
    fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output, Error> {
        self.0.client().send(op)
    }
    fn presign<O: Operation>(&self, op: &O, e: Duration) -> Result<PresignedRequest, Error> {
        self.0.presign(op, e)
    }
    fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        p: &PresignedRequest,
        b: &[u8],
    ) -> Result<O::Output, Error> {
        self.0.client().send_presigned(op, p, b)
    }
    fn verify_callback(
        v: &Verifier,
        r: &http::Request<Vec<u8>>,
    ) -> Result<VerifiedCallback, Error> {
        osscb_blocking::verify_callback(v, r)
    }
}

osscb_testkit::scenarios!(Blocking);
