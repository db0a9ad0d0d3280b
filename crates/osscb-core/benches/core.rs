//! `cargo xtask bench`: osscb-core's hot paths, each measured against a
//! baseline run alongside it (interleaved rounds, median of each), reported as
//! ratios so the numbers mean the same on any machine.

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use osscb_core::callback::Callback;
use osscb_core::ops::{Operation, PutObject};
use osscb_core::sign::v1;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};

/// Runs `subject` and `baseline` in alternating rounds and returns the median
/// time of each per call.
fn compare(
    rounds: usize,
    iters: u32,
    mut subject: impl FnMut(),
    mut baseline: impl FnMut(),
) -> (Duration, Duration) {
    let mut s = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..iters {
            baseline();
        }
        b.push(t.elapsed() / iters);
        let t = Instant::now();
        for _ in 0..iters {
            subject();
        }
        s.push(t.elapsed() / iters);
    }
    s.sort();
    b.sort();
    (s[rounds / 2], b[rounds / 2])
}

fn report(name: &str, subject: Duration, baseline: Duration, baseline_name: &str) {
    let ratio = subject.as_secs_f64() / baseline.as_secs_f64();
    println!(
        "{name:<44} {subject:>12.2?} vs {baseline_name} {baseline:>12.2?}  ratio {ratio:>7.3}"
    );
}

/// The textbook byte-at-a-time CRC-64/XZ, as a baseline for the SIMD one.
struct TableCrc64([u64; 256]);

impl TableCrc64 {
    fn new() -> Self {
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut crc = i as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xC96C_5795_D787_0F42
                } else {
                    crc >> 1
                };
            }
            *slot = crc;
        }
        Self(table)
    }

    fn checksum(&self, data: &[u8]) -> u64 {
        let mut crc = !0u64;
        for &b in data {
            crc = self.0[((crc ^ u64::from(b)) & 0xFF) as usize] ^ (crc >> 8);
        }
        !crc
    }
}

fn main() {
    println!("osscb-core benchmarks (median per call; ratio = osscb / baseline)");

    let data: Vec<u8> = (0..16 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let table = TableCrc64::new();
    assert_eq!(
        table.checksum(&data),
        osscb_core::crc64::checksum(&data),
        "baseline and SIMD CRC agree"
    );
    let (s, b) = compare(
        7,
        2,
        || {
            black_box(osscb_core::crc64::checksum(black_box(&data)));
        },
        || {
            black_box(table.checksum(black_box(&data)));
        },
    );
    report("crc64 16 MiB (SIMD crc-fast)", s, b, "table");
    let gib_per_s = data.len() as f64 / s.as_secs_f64() / f64::from(1u32 << 30);
    println!("{:<44} {gib_per_s:.2} GiB/s", "  crc64 throughput");

    let config = Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com").expect("endpoint"));
    let credentials = Credentials::new("LTAI5tExampleKeyId", "ExampleSecretExampleSecret1234");
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let callback = Callback::builder("https://app.example.com/cb")
        .body("bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}")
        .var("x:uid", "42")
        .build()
        .expect("callback");
    let put = PutObject::new(
        Bucket::new("examplebucket").expect("bucket"),
        ObjectKey::new("dir/photo 1.jpg").expect("key"),
    )
    .content_type("image/jpeg")
    .content_length(1024)
    .callback(callback);
    let string_to_sign = put
        .request()
        .expect("request")
        .signing_strings(&config, &credentials, now)
        .expect("string to sign")
        .string_to_sign;
    let (s, b) = compare(
        15,
        2_000,
        || {
            let request = put
                .request()
                .expect("request")
                .sign(&config, &credentials, black_box(now))
                .expect("sign");
            black_box(request);
        },
        || {
            black_box(v1::signature(
                credentials.access_key_secret(),
                black_box(&string_to_sign),
            ));
        },
    );
    report(
        "build + sign PutObject with callback (V1)",
        s,
        b,
        "HMAC only",
    );

    let get = osscb_core::ops::GetObject::new(
        Bucket::new("examplebucket").expect("bucket"),
        ObjectKey::new("dir/photo 1.jpg").expect("key"),
    );
    let (s, b) = compare(
        15,
        2_000,
        || {
            let url = get
                .request()
                .expect("request")
                .presign(
                    &config,
                    &credentials,
                    black_box(now),
                    Duration::from_secs(3600),
                )
                .expect("presign");
            black_box(url);
        },
        || {
            black_box(v1::signature(
                credentials.access_key_secret(),
                black_box("GET\n\n\n1700003600\n/examplebucket/dir/photo 1.jpg"),
            ));
        },
    );
    report("presign GetObject URL (V1)", s, b, "HMAC only");
}
