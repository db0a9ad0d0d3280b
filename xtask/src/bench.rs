//! `cargo xtask bench`: benchmarks that report ratios against a baseline run
//! alongside (never absolute thresholds), in release mode.

pub(crate) fn run(args: &[String]) -> crate::Result {
    let cargo = crate::cargo();
    let mut cmd = vec!["bench", "-p", "osscb-core", "--bench", "core"];
    if !args.is_empty() {
        cmd.push("--");
        cmd.extend(args.iter().map(String::as_str));
    }
    crate::run(&cargo, &cmd)
}
