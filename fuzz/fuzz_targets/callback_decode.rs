//! The callback configuration decoder (`x-oss-callback` and
//! `x-oss-callback-var`, as OSS and the emulator receive them): no panic, and
//! whatever decodes re-decodes from its own encoding to itself.
//!
//! Input: the `callback` parameter, then optionally a line break and the
//! `callback-var` parameter. A part that starts with `{` is JSON, and is
//! base64-encoded first (so that mutations reach the JSON); any other part
//! is passed as it is.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use osscb_core::callback::Callback;

fn parameter(part: &str) -> String {
    if part.starts_with('{') {
        STANDARD.encode(part)
    } else {
        part.to_owned()
    }
}

fuzz_target!(|input: &str| {
    let (callback, var) = match input.split_once('\n') {
        Some((callback, var)) => (parameter(callback), Some(parameter(var))),
        None => (parameter(input), None),
    };
    let Ok(decoded) = Callback::decode(&callback, var.as_deref()) else {
        return;
    };
    let again = Callback::decode(decoded.encoded(), decoded.encoded_variables());
    assert_eq!(again.as_ref(), Ok(&decoded));
    // Rendering the body with any values never panics.
    let _ = decoded.render_body(|name| Some(name.repeat(2)));
});
