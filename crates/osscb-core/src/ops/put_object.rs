//! [PutObject](https://www.alibabacloud.com/help/en/oss/developer-reference/putobject):
//! upload an object in one request, optionally with an upload callback.

use http::{HeaderName, HeaderValue, Method, Response};

use super::Operation;
use super::common::{WriteOptions, apply_callback};
use crate::callback::Callback;
use crate::response::{CallbackAnswer, ObjectFacts, read_write_response};
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// PutObject. The transport supplies the body (bytes or a streamed file).
///
/// ```
/// use std::time::SystemTime;
/// use osscb_core::ops::{Operation, PutObject};
/// use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};
///
/// let put = PutObject::new(Bucket::new("examplebucket")?, ObjectKey::new("a.txt")?)
///     .content_length(5);
/// let config = Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com")?);
/// let credentials = Credentials::new("LTAI-example", "secret");
/// let request = put.request()?.map_body(|()| b"hello".to_vec());
/// let request = request.sign(&config, &credentials, SystemTime::now())?;
/// assert_eq!(request.headers()["content-length"], "5");
/// # Ok::<(), osscb_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PutObject {
    bucket: Bucket,
    key: ObjectKey,
    /// Content type, metadata, ACL, storage class, forbid-overwrite.
    pub(crate) options: WriteOptions,
    content_md5: Option<String>,
    content_length: Option<u64>,
    callback: Option<Callback>,
}

/// What PutObject returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutObjectOutput {
    /// ETag, CRC-64, version id, request id.
    pub object: ObjectFacts,
    /// The application server's answer, when the upload carried a callback.
    pub callback: Option<CallbackAnswer>,
}

impl PutObject {
    /// Uploads to `key` in `bucket`.
    pub fn new(bucket: Bucket, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            options: WriteOptions::default(),
            content_md5: None,
            content_length: None,
            callback: None,
        }
    }

    /// Replaces the write options.
    #[must_use]
    pub fn options(mut self, options: WriteOptions) -> Self {
        self.options = options;
        self
    }

    /// `Content-Type`.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.options.content_type = Some(content_type.into());
        self
    }

    /// `Content-MD5`: base64 of the body's MD5; OSS rejects a body that differs.
    #[must_use]
    pub fn content_md5(mut self, md5_base64: impl Into<String>) -> Self {
        self.content_md5 = Some(md5_base64.into());
        self
    }

    /// `Content-Length` of the body the transport will send.
    #[must_use]
    pub fn content_length(mut self, len: u64) -> Self {
        self.content_length = Some(len);
        self
    }

    /// An upload callback.
    #[must_use]
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }
}

impl Operation for PutObject {
    type Body = ();
    type Output = PutObjectOutput;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        let mut request =
            OssRequest::new(Method::PUT, self.bucket.clone(), Some(self.key.clone()), ());
        self.options.apply(&mut request)?;
        if let Some(md5) = &self.content_md5 {
            request.set_header(HeaderName::from_static("content-md5"), md5)?;
        }
        if let Some(len) = self.content_length {
            request
                .headers
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        apply_callback(self.callback.as_ref(), &mut request)?;
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<PutObjectOutput, Error> {
        let (object, callback) = read_write_response(
            response.status(),
            response.headers(),
            response.body().as_ref(),
            self.callback.is_some(),
        )?;
        Ok(PutObjectOutput { object, callback })
    }

    fn check_crc64(&self, output: &PutObjectOutput, sent: u64) -> Result<(), Error> {
        output.object.check_crc64(sent)
    }
}
