//! Support code for the examples (they live as `[[example]]` targets).
//!
//! ```no_run
//! let setup = osscb_examples::embedded::Setup::from_env()?;
//! println!("uploading to bucket {}", setup.bucket);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod embedded;
