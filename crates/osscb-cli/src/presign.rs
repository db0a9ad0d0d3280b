//! `osscb presign`: a presigned URL for a GET or a PUT (with its upload
//! callback in the URL).

use std::time::Duration;

use osscb_core::ObjectKey;
use osscb_core::ops::{GetObject, PutObject};

use crate::exit::Failure;
use crate::location::Location;

/// Print a presigned URL.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// oss://bucket/key
    #[arg(value_parser = Location::parse_arg)]
    object: Location,
    /// The method the URL is for.
    #[arg(long, value_enum, default_value_t = Method::Get)]
    method: Method,
    /// How long the URL works: seconds, or a number with s, m, h or d (1 s to 7 d).
    #[arg(long, value_parser = duration, default_value = "1h", value_name = "DURATION")]
    expires: Duration,
    /// PUT: the Content-Type the upload must send.
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,
    #[command(flatten)]
    callback: crate::callback::CallbackArgs,
    #[command(flatten)]
    client: crate::client::ClientArgs,
}

/// The presigned request's method.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// A download.
    Get,
    /// An upload (with the callback, if one is given).
    Put,
}

/// `90`, `90s`, `15m`, `1h`, `7d`.
fn duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => (&text[..at], unit),
        _ => (text, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit {unit:?} (s, m, h or d)")),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 900, 15m, 1h or 7d"))?;
    number
        .checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Runs `presign`: the URL on stdout, then each header the request must
/// carry, as `NAME: VALUE`, on stderr.
pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let callback = args.callback.callback()?;
    if args.method == Method::Get && (callback.is_some() || args.content_type.is_some()) {
        return Err(Failure::usage(
            "--callback-url and --content-type go with --method put",
        ));
    }
    let bucket = args.client.bucket(&args.object)?;
    let (name, key) = (bucket.name().clone(), ObjectKey::new(&args.object.key)?);
    let presigned = match args.method {
        Method::Get => bucket.presign(&GetObject::new(name, key), args.expires)?,
        Method::Put => {
            let mut put = PutObject::new(name, key);
            if let Some(content_type) = &args.content_type {
                put = put.content_type(content_type.as_str());
            }
            if let Some(callback) = callback {
                put = put.callback(callback);
            }
            bucket.presign(&put, args.expires)?
        }
    };
    println!("{}", presigned.url);
    for (name, value) in &presigned.headers {
        eprintln!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(duration("1w").is_err());
        assert!(duration("h").is_err());
        assert!(duration("").is_err());
    }
}
