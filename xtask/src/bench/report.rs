//! The bench's outputs: the table's rows (each figure against its targets),
//! `results.md`, `results.json`, the multipart chart (hand-written SVG) and
//! the README's Performance section.

use std::fmt::Write as _;

use super::flat;
use super::{PARALLELISMS, Run, Scale, TABLE_PARALLELISM};
use crate::Result;

/// The README's Performance section starts after this line…
pub(crate) const START: &str = "<!-- bench:start -->";
/// …and ends before this one.
pub(crate) const END: &str = "<!-- bench:end -->";

/// One line of the table.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    figure: String,
    osscb: String,
    baselines: String,
    target: String,
    /// Each target, met or not, with the measured ratio.
    checks: Vec<(String, bool)>,
}

impl Row {
    fn met(&self) -> bool {
        self.checks.iter().all(|(_, met)| *met)
    }

    fn result(&self) -> String {
        let parts: Vec<String> = self
            .checks
            .iter()
            .map(|(what, met)| {
                if *met {
                    format!("met: {what}")
                } else {
                    format!("**missed**: {what}")
                }
            })
            .collect();
        parts.join("; ")
    }
}

/// The runs of `figure` by `subject` (and, for multipart, `parallelism`).
fn of<'a>(
    runs: &'a [Run],
    figure: &'a str,
    subject: &'a str,
    parallelism: Option<usize>,
) -> impl Iterator<Item = &'a Run> + 'a {
    runs.iter().filter(move |run| {
        flat::text(run, "figure").is_ok_and(|f| f == figure)
            && flat::text(run, "subject").is_ok_and(|s| s == subject)
            && parallelism
                .is_none_or(|p| flat::number(run, "parallelism").is_ok_and(|n| n as usize == p))
    })
}

/// The median of `key` over the runs, or an error if none has it.
fn median(runs: &[Run], figure: &str, subject: &str, p: Option<usize>, key: &str) -> Result<f64> {
    let mut values: Vec<f64> = of(runs, figure, subject, p)
        .filter_map(|run| flat::number(run, key).ok())
        .collect();
    values.sort_by(f64::total_cmp);
    values
        .get(values.len() / 2)
        .copied()
        .ok_or_else(|| format!("no {figure}/{subject} run reported {key}"))
}

/// The largest `key` over the runs (peak RSS), 0 if none.
fn max(runs: &[Run], figure: &str, subject: &str, p: Option<usize>, key: &str) -> f64 {
    of(runs, figure, subject, p)
        .filter_map(|run| flat::number(run, key).ok())
        .fold(0.0, f64::max)
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn check(what: String, met: bool) -> (String, bool) {
    (what, met)
}

/// The table's rows, computed from every run.
pub(crate) fn rows(runs: &[Run], scale: Scale) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (name, label) in [
        ("sign_v1", "build + sign PutObject with callback, V1"),
        ("sign_v4", "build + sign PutObject with callback, V4"),
        ("presign_v1", "presign a GetObject URL, V1"),
        ("presign_v4", "presign a GetObject URL, V4"),
    ] {
        let get = |who: &str| median(runs, "sign", "osscb", None, &format!("{name}_{who}_ns"));
        let (osscb, floor, reqsign) = (get("osscb")?, get("floor")?, get("reqsign")?);
        let oss2 = median(runs, "sign", "oss2", None, &format!("{name}_ns"))?;
        rows.push(Row {
            figure: label.to_owned(),
            osscb: format!("{} /op", time(osscb)),
            baselines: format!(
                "floor {}; reqsign-aliyun-oss {}; oss2 {}",
                time(floor),
                time(reqsign),
                time(oss2)
            ),
            target: "≤ 2× the floor; ≥ 3× faster than reqsign; ≥ 25× faster than oss2".to_owned(),
            checks: vec![
                check(
                    format!("{:.2}× the floor", osscb / floor),
                    osscb <= 2.0 * floor,
                ),
                check(
                    format!("{:.1}× reqsign's speed", reqsign / osscb),
                    reqsign >= 3.0 * osscb,
                ),
                check(
                    format!("{:.0}× oss2's speed", oss2 / osscb),
                    oss2 >= 25.0 * osscb,
                ),
            ],
        });
    }

    let crc = median(runs, "crc", "osscb", None, "osscb_gb_s")?;
    let memcpy = median(runs, "crc", "osscb", None, "memcpy_gb_s")?;
    let crcmod = median(runs, "crc", "oss2", None, "crcmod_gb_s")?;
    let extension = of(runs, "crc", "oss2", None).any(|run| flat::flag(run, "crcmod_extension"));
    rows.push(Row {
        figure: format!("CRC-64 of a {} MiB buffer", scale_crc(runs)),
        osscb: format!("{crc:.2} GB/s"),
        baselines: format!(
            "memcpy (the floor) {memcpy:.2} GB/s; oss2's crcmod {crcmod:.3} GB/s ({})",
            if extension {
                "C extension"
            } else {
                "pure Python: its C extension is not built"
            }
        ),
        target: "≥ 10× crcmod; ≥ 0.5× memcpy".to_owned(),
        checks: vec![
            check(format!("{:.0}× crcmod", crc / crcmod), crc >= 10.0 * crcmod),
            check(format!("{:.2}× memcpy", crc / memcpy), crc >= 0.5 * memcpy),
        ],
    });

    let put_curl = median(runs, "put", "curl", None, "mb_s")?;
    let put_oss2 = median(runs, "put", "oss2", None, "mb_s")?;
    for mode in ["blocking", "async"] {
        let rate = median(runs, "put", mode, None, "mb_s")?;
        let rss = max(runs, "put", mode, None, "client_rss_kib");
        let emulator = max(runs, "put", mode, None, "emulator_rss_kib");
        rows.push(Row {
            figure: format!("PutObject of a {} MiB file, {mode}", scale.put_mib),
            osscb: format!(
                "{rate:.0} MB/s, client RSS {} (emulator {})",
                mib(rss),
                mib(emulator)
            ),
            baselines: format!(
                "`curl -T` to a presigned URL {put_curl:.0} MB/s (RSS {}); oss2 \
                 `put_object_from_file` {put_oss2:.0} MB/s (RSS {})",
                mib(max(runs, "put", "curl", None, "client_rss_kib")),
                mib(max(runs, "put", "oss2", None, "client_rss_kib")),
            ),
            target: "≥ 0.9× curl; client RSS ≤ 32 MiB".to_owned(),
            checks: vec![
                check(
                    format!("{:.2}× curl", rate / put_curl),
                    rate >= 0.9 * put_curl,
                ),
                check(format!("RSS {}", mib(rss)), rss <= 32.0 * 1024.0),
            ],
        });
    }

    let p = Some(TABLE_PARALLELISM);
    let mp_oss2 = median(runs, "multipart", "oss2", p, "mb_s")?;
    let mp_curl = median(runs, "multipart", "curl", p, "mb_s")?;
    for mode in ["blocking", "async"] {
        let rate = median(runs, "multipart", mode, p, "mb_s")?;
        let rss = max(runs, "multipart", mode, p, "client_rss_kib");
        let emulator = max(runs, "multipart", mode, p, "emulator_rss_kib");
        let verified =
            of(runs, "multipart", mode, None).all(|run| flat::flag(run, "callback_verified"));
        rows.push(Row {
            figure: format!(
                "multipart of a {} MiB file, {} MiB parts, {TABLE_PARALLELISM} in parallel, \
                 with a callback, {mode}",
                scale.multipart_mib, scale.part_mib
            ),
            osscb: format!(
                "{rate:.0} MB/s, client RSS {} (emulator {})",
                mib(rss),
                mib(emulator)
            ),
            baselines: format!(
                "oss2 `resumable_upload`, {TABLE_PARALLELISM} threads, same part size \
                 {mp_oss2:.0} MB/s (RSS {}); curl's ceiling (one `curl -T` of the file) \
                 {mp_curl:.0} MB/s",
                mib(max(runs, "multipart", "oss2", p, "client_rss_kib")),
            ),
            target: "≥ 2× oss2; ≥ 0.8× curl; RSS ≤ 64 MiB; the callback verified".to_owned(),
            checks: vec![
                check(
                    format!("{:.1}× oss2", rate / mp_oss2),
                    rate >= 2.0 * mp_oss2,
                ),
                check(
                    format!("{:.2}× curl", rate / mp_curl),
                    rate >= 0.8 * mp_curl,
                ),
                check(format!("RSS {}", mib(rss)), rss <= 64.0 * 1024.0),
                check("every callback verified".to_owned(), verified),
            ],
        });
    }

    for mode in ["blocking", "async"] {
        let up = median(runs, "pipe-upload", mode, None, "mb_s")?;
        let up_rss = max(runs, "pipe-upload", mode, None, "client_rss_kib");
        let down = median(runs, "stream-download", mode, None, "mb_s")?;
        let down_rss = max(runs, "stream-download", mode, None, "client_rss_kib");
        let verified =
            of(runs, "pipe-upload", mode, None).all(|run| flat::flag(run, "callback_verified"));
        rows.push(Row {
            figure: format!(
                "a {} MiB upload from a pipe (a `Read` of unknown length; 8 MiB parts, 4 in \
                 flight, with a callback), then its download read as it arrives, {mode}",
                scale.stream_mib
            ),
            osscb: format!(
                "upload {up:.0} MB/s, client RSS {}; download {down:.0} MB/s, client RSS {}",
                mib(up_rss),
                mib(down_rss)
            ),
            baselines: "none (each in its own process)".to_owned(),
            target: "client RSS ≤ 64 MiB each (else the bench fails); the callback verified"
                .to_owned(),
            checks: vec![
                check(
                    format!("upload RSS {}", mib(up_rss)),
                    up_rss <= super::STREAM_RSS_KIB,
                ),
                check(
                    format!("download RSS {}", mib(down_rss)),
                    down_rss <= super::STREAM_RSS_KIB,
                ),
                check("the callback verified".to_owned(), verified),
            ],
        });
    }

    let with = median(runs, "load", "async", None, "with_callback_ops_s")?;
    let without = median(runs, "load", "async", None, "without_callback_ops_s")?;
    let verified = median(runs, "load", "async", None, "callbacks_verified")?;
    let expected = median(runs, "load", "async", None, "callbacks_expected")?;
    rows.push(Row {
        figure: format!(
            "{} × {} KiB async puts with callbacks, {} in flight",
            scale.load_puts,
            scale.load_size / 1024,
            scale.load_in_flight
        ),
        osscb: format!("{with:.0} ops/s"),
        baselines: format!("the same puts without callbacks {without:.0} ops/s"),
        target: "every callback delivered and verified; ≥ 0.5× the no-callback rate".to_owned(),
        checks: vec![
            check(
                format!("{verified:.0} of {expected:.0} callbacks verified"),
                verified >= expected,
            ),
            check(
                format!("{:.2}× the no-callback rate", with / without),
                with >= 0.5 * without,
            ),
        ],
    });
    Ok(rows)
}

fn scale_crc(runs: &[Run]) -> String {
    let bytes = of(runs, "crc", "osscb", None)
        .find_map(|run| flat::number(run, "bytes").ok())
        .unwrap_or(0.0);
    format!("{:.0}", bytes / 1024.0 / 1024.0)
}

/// The Markdown table with its notes.
pub(crate) fn markdown(rows: &[Row], runs: &[Run], scale: Scale) -> String {
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let _ = writeln!(
        out,
        "Measured by `cargo xtask bench`{} on a {cores}-core machine: every figure beside \
         its baselines in the same run, subjects taking turns round by round, medians. \
         Client and emulator share the machine (loopback); each transfer gets a fresh \
         release emulator, whose peak RSS is shown apart. Peak RSS is `VmHWM` of each \
         process. Targets are the issue's; a missed one says so.\n",
        if scale.quick {
            " --quick (small files, few rounds: numbers for checking the harness only)"
        } else {
            ""
        }
    );
    out.push_str("| figure | osscb | baselines (same run) | target | result |\n");
    out.push_str("|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.figure,
            row.osscb,
            row.baselines,
            row.target,
            row.result()
        );
    }
    let met = rows.iter().filter(|row| row.met()).count();
    let _ = writeln!(
        out,
        "\n{met} of {} figures meet every target.\n",
        rows.len()
    );
    out.push_str(
        "Notes: the floor of signing is the bare HMAC work over the same string to sign \
         (V1: HMAC-SHA1 and base64; V4: the four HMAC-SHA256 of the signing-key derivation, \
         the final HMAC-SHA256 and hex). Caching the V4 signing key per day, as the SDKs do, \
         is allowed, so osscb's V4 figure may beat that floor. reqsign-aliyun-oss 3.2 \
         (Apache OpenDAL) signs the same request at the current time (its fixed-time option \
         is test-only). oss2's figures time `Auth` / `ProviderAuthV4` signing of the same \
         request in a Python loop. curl's multipart ceiling is one `curl -T` of the whole \
         file to a presigned URL on the same emulator. MB/s and GB/s are 10^6 and 10^9 \
         bytes per second.\n",
    );
    let mut chart = String::new();
    for mode in ["blocking", "async"] {
        let points: Vec<String> = PARALLELISMS
            .iter()
            .filter_map(|&p| {
                median(runs, "multipart", mode, Some(p), "mb_s")
                    .ok()
                    .map(|rate| format!("{p}: {rate:.0}"))
            })
            .collect();
        let _ = write!(chart, "{mode} {}; ", points.join(", "));
    }
    let _ = writeln!(
        out,
        "\n![Multipart throughput against parallelism](docs/bench-multipart.svg)\n\n\
         Multipart MB/s by parallelism: {}curl's ceiling {}.",
        chart,
        median(runs, "multipart", "curl", Some(TABLE_PARALLELISM), "mb_s")
            .map_or_else(|_| "not measured".to_owned(), |r| format!("{r:.0} MB/s"))
    );
    out
}

/// `results.json`: the rows with their verdicts, and every run.
pub(crate) fn json(rows: &[Row], runs: &[Run], scale: Scale, seconds: f64) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|row| {
            let checks: Vec<String> = row
                .checks
                .iter()
                .map(|(what, met)| format!("{{\"check\":{},\"met\":{met}}}", flat::quote(what)))
                .collect();
            format!(
                "{{\"figure\":{},\"osscb\":{},\"baselines\":{},\"target\":{},\"met\":{},\"checks\":[{}]}}",
                flat::quote(&row.figure),
                flat::quote(&row.osscb),
                flat::quote(&row.baselines),
                flat::quote(&row.target),
                row.met(),
                checks.join(",")
            )
        })
        .collect();
    let runs: Vec<String> = runs.iter().map(flat::write).collect();
    format!(
        "{{\"quick\":{},\"seconds\":{seconds:.1},\"rows\":[\n{}\n],\"runs\":[\n{}\n]}}\n",
        scale.quick,
        rows.join(",\n"),
        runs.join(",\n")
    )
}

/// The multipart chart: MB/s against parallelism, blocking and async, with
/// curl's ceiling as a dashed line and oss2 as a point.
pub(crate) fn svg(runs: &[Run]) -> Result<String> {
    const W: f64 = 640.0;
    const H: f64 = 360.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 170.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 50.0;
    let series: Vec<(&str, &str, Vec<f64>)> = [("blocking", "#1f77b4"), ("async", "#d62728")]
        .into_iter()
        .map(|(mode, color)| {
            let rates = PARALLELISMS
                .iter()
                .map(|&p| median(runs, "multipart", mode, Some(p), "mb_s"))
                .collect::<Result<Vec<f64>>>()?;
            Ok((mode, color, rates))
        })
        .collect::<Result<_>>()?;
    let curl = median(runs, "multipart", "curl", Some(TABLE_PARALLELISM), "mb_s")?;
    let oss2 = median(runs, "multipart", "oss2", Some(TABLE_PARALLELISM), "mb_s")?;
    let highest = series
        .iter()
        .flat_map(|(_, _, rates)| rates.iter().copied())
        .chain([curl, oss2])
        .fold(1.0, f64::max);
    let step = nice_step(highest * 1.1 / 4.0);
    let top = step * 4.0;
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / (PARALLELISMS.len() - 1) as f64;
    let y = |rate: f64| TOP + (H - TOP - BOTTOM) * (1.0 - rate / top);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">Multipart upload \
         throughput against parallelism (MB/s)</text>\n",
        W / 2.0
    );
    // Axes, grid and labels.
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"black\"/>\n\
         <line x1=\"{LEFT}\" y1=\"{0}\" x2=\"{}\" y2=\"{0}\" stroke=\"black\"/>",
        H - BOTTOM,
        W - RIGHT
    );
    for tick in 0..=4 {
        let rate = top * f64::from(tick) / 4.0;
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{rate:.0}</text>",
            y(rate),
            W - RIGHT,
            LEFT - 6.0,
            y(rate) + 4.0
        );
    }
    for (i, p) in PARALLELISMS.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{p}</text>",
            x(i),
            H - BOTTOM + 18.0
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">parts in parallel</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 10.0
    );
    // curl's ceiling.
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#2ca02c\" \
         stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
        y(curl),
        W - RIGHT
    );
    // The series.
    for (mode, color, rates) in &series {
        let points: Vec<String> = rates
            .iter()
            .enumerate()
            .map(|(i, &rate)| format!("{:.1},{:.1}", x(i), y(rate)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
            points.join(" ")
        );
        for (i, &rate) in rates.iter().enumerate() {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"><title>{mode}, \
                 {}: {rate:.0} MB/s</title></circle>",
                x(i),
                y(rate),
                PARALLELISMS[i]
            );
        }
    }
    let oss2_at = PARALLELISMS
        .iter()
        .position(|&p| p == TABLE_PARALLELISM)
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"7\" height=\"7\" fill=\"#9467bd\"/>",
        x(oss2_at) - 3.5,
        y(oss2) - 3.5
    );
    // The legend.
    let legend = [
        ("#1f77b4", "osscb blocking", false),
        ("#d62728", "osscb async", false),
        ("#2ca02c", "curl's ceiling", true),
        ("#9467bd", "oss2, 4 threads", false),
    ];
    for (i, (color, label, dashed)) in legend.iter().enumerate() {
        let ly = TOP + 10.0 + 22.0 * i as f64;
        let lx = W - RIGHT + 15.0;
        let dash = if *dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" \
             stroke-width=\"2\"{dash}/>\n<text x=\"{}\" y=\"{}\">{label}</text>",
            lx + 24.0,
            lx + 30.0,
            ly + 4.0
        );
    }
    out.push_str("</svg>\n");
    Ok(out)
}

/// The smallest of 1, 2, 5 × 10^k at least `raw`: a round axis step.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// `readme` with the text between [`START`] and [`END`] replaced by `section`.
pub(crate) fn splice(readme: &str, section: &str) -> Result<String> {
    let start = readme
        .find(START)
        .ok_or_else(|| format!("README.md has no {START} line"))?
        + START.len();
    let end = readme[start..]
        .find(END)
        .ok_or_else(|| format!("README.md has no {END} line after {START}"))?
        + start;
    Ok(format!(
        "{}\n{}\n{}",
        &readme[..start],
        section.trim_end(),
        &readme[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_section() {
        let readme = format!("# T\n\n## Performance\n\n{START}\nold\n{END}\n\n## License\n");
        let spliced = splice(&readme, "new table\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            spliced,
            format!("# T\n\n## Performance\n\n{START}\nnew table\n{END}\n\n## License\n")
        );
        assert_eq!(
            splice(&spliced, "new table").unwrap_or_else(|e| panic!("{e}")),
            spliced
        );
        assert!(splice("# T\n", "x").is_err());
    }

    fn run(text: &str) -> Run {
        flat::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// One run of every figure and subject, as the bench tags them.
    fn every_figure() -> Vec<Run> {
        let mut runs = vec![
            run(
                r#"{"figure":"sign","subject":"osscb","sign_v1_osscb_ns":2000,"sign_v1_floor_ns":1000,"sign_v1_reqsign_ns":6000,
                "sign_v4_osscb_ns":3000,"sign_v4_floor_ns":1000,"sign_v4_reqsign_ns":9000,
                "presign_v1_osscb_ns":1000,"presign_v1_floor_ns":1000,"presign_v1_reqsign_ns":3000,
                "presign_v4_osscb_ns":1000,"presign_v4_floor_ns":1000,"presign_v4_reqsign_ns":3000}"#,
            ),
            run(
                r#"{"figure":"sign","subject":"oss2","sign_v1_ns":50000,"sign_v4_ns":75000,"presign_v1_ns":25000,"presign_v4_ns":25000}"#,
            ),
            run(
                r#"{"figure":"crc","subject":"osscb","bytes":8388608,"osscb_gb_s":5,"memcpy_gb_s":4}"#,
            ),
            run(r#"{"figure":"crc","subject":"oss2","crcmod_gb_s":0.2,"crcmod_extension":true}"#),
            run(
                r#"{"figure":"load","subject":"async","with_callback_ops_s":600,"without_callback_ops_s":1000,"callbacks_verified":100,"callbacks_expected":100}"#,
            ),
        ];
        for (figure, subject, mb_s) in [
            ("put", "blocking", 100),
            ("put", "async", 80),
            ("put", "curl", 100),
            ("put", "oss2", 50),
            ("multipart", "oss2", 50),
            ("multipart", "curl", 100),
        ] {
            runs.push(run(&format!(
                r#"{{"figure":"{figure}","subject":"{subject}","parallelism":4,"mb_s":{mb_s},"client_rss_kib":8192}}"#
            )));
        }
        for subject in ["blocking", "async"] {
            runs.push(run(&format!(
                r#"{{"figure":"pipe-upload","subject":"{subject}","mb_s":300,"client_rss_kib":50000,"callback_verified":true}}"#
            )));
            runs.push(run(&format!(
                r#"{{"figure":"stream-download","subject":"{subject}","mb_s":400,"client_rss_kib":70000}}"#
            )));
        }
        for p in PARALLELISMS {
            for subject in ["blocking", "async"] {
                runs.push(run(&format!(
                    r#"{{"figure":"multipart","subject":"{subject}","parallelism":{p},"mb_s":{},"client_rss_kib":10240,"callback_verified":true}}"#,
                    100 + p
                )));
            }
        }
        runs
    }

    #[test]
    fn every_figure_makes_a_row_with_its_verdicts() {
        let runs = every_figure();
        let rows = rows(&runs, super::super::QUICK).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 12);
        assert_eq!(
            rows[0].result(),
            "met: 2.00× the floor; met: 3.0× reqsign's speed; met: 25× oss2's speed"
        );
        assert_eq!(
            rows[1].result(),
            "**missed**: 3.00× the floor; met: 3.0× reqsign's speed; met: 25× oss2's speed"
        );
        assert_eq!(rows[4].result(), "met: 25× crcmod; met: 1.25× memcpy");
        assert_eq!(rows[6].result(), "**missed**: 0.80× curl; met: RSS 8.0 MiB");
        assert_eq!(
            rows[7].result(),
            "met: 2.1× oss2; met: 1.04× curl; met: RSS 10.0 MiB; met: every callback verified"
        );
        assert_eq!(
            rows[9].result(),
            "met: upload RSS 48.8 MiB; **missed**: download RSS 68.4 MiB; met: the callback verified"
        );
        assert_eq!(
            rows[11].result(),
            "met: 100 of 100 callbacks verified; met: 0.60× the no-callback rate"
        );
        let table = markdown(&rows, &runs, super::super::QUICK);
        assert!(
            table.contains("8 of 12 figures meet every target."),
            "{table}"
        );
        assert!(
            table.contains("blocking 1: 101, 2: 102, 4: 104, 8: 108;"),
            "{table}"
        );
        let chart = svg(&runs).unwrap_or_else(|e| panic!("{e}"));
        assert!(chart.starts_with("<svg ") && chart.ends_with("</svg>\n"));
        assert_eq!(chart.matches("<polyline ").count(), 2);
    }

    #[test]
    fn a_missing_figure_fails_the_bench() {
        let runs: Vec<Run> = every_figure()
            .into_iter()
            .filter(|run| flat::text(run, "figure").is_ok_and(|f| f != "load"))
            .collect();
        let error = rows(&runs, super::super::QUICK).expect_err("no load figure");
        assert!(error.contains("no load/async run"), "{error}");
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(32.3), 50.0);
        assert_eq!(nice_step(120.0), 200.0);
        assert_eq!(nice_step(0.4), 0.5);
        assert_eq!(nice_step(100.0), 100.0);
    }

    #[test]
    fn a_row_says_which_target_is_missed() {
        let row = Row {
            figure: "f".to_owned(),
            osscb: String::new(),
            baselines: String::new(),
            target: String::new(),
            checks: vec![("a".to_owned(), true), ("b".to_owned(), false)],
        };
        assert!(!row.met());
        assert_eq!(row.result(), "met: a; **missed**: b");
    }
}
