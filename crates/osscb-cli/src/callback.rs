//! The upload callback flags `cp` and `presign` share.

use osscb_core::callback::{Callback, CallbackBodyType};

use crate::exit::Failure;

/// The body OSS sends when `--callback-body` is not given, form-urlencoded.
const DEFAULT_FORM_BODY: &str = "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}&crc64=${crc64}";
/// The same fields as JSON (OSS substitutes them as JSON strings).
const DEFAULT_JSON_BODY: &str = r#"{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},"mimeType":${mimeType},"crc64":${crc64}}"#;

/// An upload callback.
#[derive(clap::Args, Debug)]
pub(crate) struct CallbackArgs {
    /// The application server OSS calls once the object is stored
    /// (repeatable: OSS tries up to five in order).
    #[arg(long = "callback-url", value_name = "URL")]
    urls: Vec<String>,
    /// The callback's body template, with ${bucket}, ${object}, ${etag},
    /// ${size}, ${mimeType}, ${crc64}, … and ${x:name} variables [default:
    /// bucket, object, etag, size, mimeType and crc64, as the body type
    /// says].
    #[arg(long = "callback-body", value_name = "TEMPLATE", requires = "urls")]
    body: Option<String>,
    /// The callback body's encoding.
    #[arg(long = "callback-body-type", value_enum, requires = "urls", default_value_t = BodyType::Form)]
    body_type: BodyType,
    /// The Host header of the callback request.
    #[arg(long = "callback-host", value_name = "HOST", requires = "urls")]
    host: Option<String>,
    /// A custom variable for the template (repeatable): x:name=value.
    #[arg(long = "callback-var", value_name = "x:NAME=VALUE", value_parser = var, requires = "urls")]
    vars: Vec<(String, String)>,
}

/// `callbackBodyType`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum BodyType {
    /// application/x-www-form-urlencoded
    Form,
    /// application/json
    Json,
}

impl From<BodyType> for CallbackBodyType {
    fn from(body_type: BodyType) -> Self {
        match body_type {
            BodyType::Form => Self::FormUrlEncoded,
            BodyType::Json => Self::Json,
        }
    }
}

fn var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected x:name=value, got {text:?}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

impl CallbackArgs {
    /// The callback, when a URL was given.
    ///
    /// # Errors
    /// A callback OSS would reject: a usage error.
    pub(crate) fn callback(&self) -> Result<Option<Callback>, Failure> {
        let Some((first, more)) = self.urls.split_first() else {
            return Ok(None);
        };
        let mut builder = Callback::builder(first.as_str())
            .body(match (&self.body, self.body_type) {
                (Some(body), _) => body.as_str(),
                (None, BodyType::Form) => DEFAULT_FORM_BODY,
                (None, BodyType::Json) => DEFAULT_JSON_BODY,
            })
            .body_type(self.body_type.into());
        for url in more {
            builder = builder.url(url.as_str());
        }
        if let Some(host) = &self.host {
            builder = builder.host(host.as_str());
        }
        for (name, value) in &self.vars {
            builder = builder.var(name.as_str(), value.as_str());
        }
        let callback = builder.build().map_err(osscb_core::Error::from);
        callback.map(Some).map_err(Failure::usage)
    }
}
