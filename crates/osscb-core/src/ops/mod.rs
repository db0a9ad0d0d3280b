//! One module per OSS operation. Each operation is a value that builds its
//! unsigned [`OssRequest`] and reads its own `http::Response`; a transport
//! needs one generic `send` for all of them.

use http::Response;

use crate::{Error, OssRequest};

mod common;
mod delete_object;
mod get_object;
mod head_object;
pub(crate) mod multipart;
mod put_object;

pub use common::{ObjectAcl, StorageClass, WriteOptions, guess_content_type};
pub use delete_object::{DeleteObject, DeleteObjectOutput};
pub use get_object::{GetObject, GetObjectOutput};
pub use head_object::{HeadObject, ObjectMetadata};
pub use multipart::{
    AbortMultipartUpload, AbortMultipartUploadOutput, CompleteMultipartUploadOutput,
};
pub use put_object::{PutObject, PutObjectOutput};

/// A body the core supplies for an operation: none (`()`, the transport
/// supplies it or there is none), or bytes it generated.
pub trait CoreBody {
    /// The bytes to send.
    fn into_bytes(self) -> Vec<u8>;
}

impl CoreBody for () {
    fn into_bytes(self) -> Vec<u8> {
        Vec::new()
    }
}

impl CoreBody for Vec<u8> {
    fn into_bytes(self) -> Vec<u8> {
        self
    }
}

/// An OSS operation: builds its request and reads its response.
pub trait Operation {
    /// The body the core supplies: `()` when the transport supplies it (or
    /// there is none), bytes when the core generates it (CompleteMultipartUpload).
    type Body: CoreBody;
    /// What a successful response turns into.
    type Output;

    /// The unsigned request. Sign it with [`OssRequest::sign`] (after giving it
    /// a body with [`OssRequest::map_body`] if the transport streams one) or
    /// presign it with [`OssRequest::presign`].
    ///
    /// # Errors
    /// The configuration error, before any byte is sent.
    fn request(&self) -> Result<OssRequest<Self::Body>, Error>;

    /// Reads the response. Bodies over [`crate::response::MAX_BODY_LEN`] are refused.
    ///
    /// # Errors
    /// [`Error::Service`] for OSS errors, [`Error::CallbackFailed`] for 203,
    /// [`Error::MalformedResponse`] for a success that lacks what it must carry.
    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<Self::Output, Error>;

    /// Checks `output` against the CRC-64 of the body sent, for operations
    /// whose answer reports the CRC-64 of exactly that body (PutObject,
    /// UploadPart). Others, whose answer describes something else, pass.
    ///
    /// # Errors
    /// [`Error::Crc64Mismatch`].
    fn check_crc64(&self, output: &Self::Output, sent: u64) -> Result<(), Error> {
        let _ = (output, sent);
        Ok(())
    }

    /// Checks `output` against the answer's body, for operations whose body
    /// is the object (GetObject of a whole object): `body` as received, or
    /// `streamed_crc64`, the CRC-64 of a body the transport streamed
    /// elsewhere. Others pass without reading either.
    ///
    /// # Errors
    /// [`Error::Crc64Mismatch`].
    fn check_body(
        &self,
        output: &Self::Output,
        body: &[u8],
        streamed_crc64: Option<u64>,
    ) -> Result<(), Error> {
        let _ = (output, body, streamed_crc64);
        Ok(())
    }

    /// [`Operation::parse`], then [`Operation::check_crc64`] against
    /// `sent_crc64`, the CRC-64 of the body sent: how a transport reads every
    /// answer.
    ///
    /// # Errors
    /// As those two.
    fn parse_checked<B: AsRef<[u8]>>(
        &self,
        response: Response<B>,
        sent_crc64: u64,
    ) -> Result<Self::Output, Error> {
        let output = self.parse(response)?;
        self.check_crc64(&output, sent_crc64)?;
        Ok(output)
    }
}
