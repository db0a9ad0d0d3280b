//! The `osscb-emulator` binary: its first line (and the dashboard's), a key pair loaded with
//! `--rsa-key`, fault flags, and a clean stop on Ctrl-C (SIGINT) or SIGTERM.

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use osscb_core::ops::{GetObject, Operation as _, PutObject};

/// Stops the child however the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The address in the binary's one line on stdout.
fn listening_address(child: &mut Child) -> SocketAddr {
    let stdout = child.0.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("one line")
        .expect("stdout");
    line.strip_prefix("osscb-emulator listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn binary_loads_its_key_injects_faults_and_stops_on_ctrl_c() {
    let dir = temp_dir("cli");
    let key = dir.join("key.pem");
    let key_path = key.to_str().expect("UTF-8 temp path");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        key_path,
    ]);
    let public = openssl(&["pkey", "-in", key_path, "-pubout"]);

    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_osscb-emulator"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--access-key-id",
                ID,
                "--access-key-secret",
                SECRET,
            ])
            .args([
                "--rsa-key",
                key_path,
                "--fail-next",
                "1:503",
                "--corrupt-crc64-next",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("one line")
        .expect("stdout");
    let rest = line
        .strip_prefix("osscb-emulator listening on http://")
        .unwrap_or_else(|| panic!("{line}"));
    let addr: SocketAddr = rest
        .split_whitespace()
        .next()
        .expect("address")
        .parse()
        .expect("an address");
    assert_eq!(
        line,
        format!(
            "osscb-emulator listening on http://{addr} (callback public key: http://{addr}/__osscb/callback_pub_key.pem)"
        )
    );

    // The key served for callback verification is the one loaded.
    let get_key = http::Request::get(format!("http://{addr}/__osscb/callback_pub_key.pem"))
        .body(Vec::new())
        .expect("request");
    let served = send(addr, get_key).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.text().trim(), public.trim());

    // --fail-next 1:503 fails the first OSS request, --corrupt-crc64-next 1 the next write's CRC.
    let config = osscb_core::Config::v1(
        osscb_core::Endpoint::parse(&format!("http://{addr}")).expect("endpoint"),
    );
    let signed = |op: &dyn Fn() -> osscb_core::OssRequest<Vec<u8>>| {
        op().sign(&config, &creds(), std::time::SystemTime::now())
            .expect("sign")
    };
    let put = || {
        use osscb_core::ops::Operation as _;
        PutObject::new(b("bucket"), k("cli"))
            .content_length(2)
            .request()
            .expect("request")
            .map_body(|()| b"ok".to_vec())
    };
    assert_eq!(send(addr, signed(&put)).await.status, 503);
    let stored = send(addr, signed(&put)).await;
    assert_eq!(stored.status, 200);
    assert_ne!(
        stored.header("x-oss-hash-crc64ecma"),
        osscb_core::crc64::checksum(b"ok").to_string()
    );
    let get = || {
        use osscb_core::ops::Operation as _;
        GetObject::new(b("bucket"), k("cli"))
            .request()
            .expect("request")
            .map_body(|()| Vec::new())
    };
    let got = send(addr, signed(&get)).await;
    assert_eq!((got.status, got.body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(
        got.header("x-oss-hash-crc64ecma"),
        osscb_core::crc64::checksum(b"ok").to_string()
    );

    // Ctrl-C: a clean exit.
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running after SIGINT");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn binary_cuts_off_slow_request_heads_after_header_read_timeout_ms() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_osscb-emulator"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--access-key-id",
                ID,
                "--access-key-secret",
                SECRET,
                "--header-read-timeout-ms",
                "300",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts"),
    );
    let addr = listening_address(&mut child);
    let held = slowloris(addr, Duration::from_secs(5))
        .await
        .expect("the connection is still open after 5 s");
    assert!(held < Duration::from_secs(3), "{held:?}");
}

/// Without `--data-dir`, large bodies go to a private temporary directory
/// (under `TMPDIR`, made for the first one, readable by its owner only),
/// which a SIGTERM (how a benchmark or a service manager stops it) removes
/// on the way to a clean exit.
#[tokio::test]
async fn binary_removes_its_temporary_directory_on_sigterm() {
    let tmp = temp_dir("cli-term");
    std::fs::create_dir_all(&tmp).expect("TMPDIR");
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_osscb-emulator"))
            .args(["--listen", "127.0.0.1:0", "--access-key-id", ID])
            .args(["--access-key-secret", SECRET])
            .env("TMPDIR", &tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts"),
    );
    let addr = listening_address(&mut child);
    let entries = || {
        std::fs::read_dir(&tmp)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect::<Vec<_>>()
    };
    assert!(entries().is_empty(), "no directory before a large body");

    let config = osscb_core::Config::v1(
        osscb_core::Endpoint::parse(&format!("http://{addr}")).expect("endpoint"),
    );
    let big = vec![7u8; 2 * 1024 * 1024];
    let put = {
        use osscb_core::ops::Operation as _;
        PutObject::new(b("bucket"), k("big"))
            .content_length(big.len() as u64)
            .request()
            .expect("request")
            .map_body(|()| big.clone())
            .sign(&config, &creds(), std::time::SystemTime::now())
            .expect("sign")
    };
    assert_eq!(send(addr, put).await.status, 200);
    let made = entries();
    assert_eq!(made.len(), 1, "one private directory: {made:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&made[0])
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    assert!(entries().is_empty(), "the private directory is gone");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--log debug` reports each request on stderr: method, path, status and
/// request id, never the query (a presigned URL's signature and token).
#[test]
fn binary_logs_requests_without_their_query() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_osscb-emulator"))
            .args(["--listen=127.0.0.1:0", "--log=debug"])
            .env("OSSCB_EMULATOR_ACCESS_KEY_ID", ID)
            .env("OSSCB_EMULATOR_ACCESS_KEY_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the emulator starts"),
    );
    let addr = listening_address(&mut child);
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    std::io::Write::write_all(
        &mut stream,
        b"GET /bucket/key?Signature=S3cretSig&security-token=T0ken HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("request");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let _ = child.0.kill();
    let mut log = String::new();
    let stderr = child.0.stderr.take().expect("stderr");
    std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut log).expect("log");
    assert!(log.contains("osscb-emulator: answered"), "{log}");
    assert!(
        log.contains("path=\"/bucket/key\"") && log.contains("status=403"),
        "{log}"
    );
    assert!(
        !log.contains("S3cretSig") && !log.contains("T0ken"),
        "{log}"
    );
}

/// `--log debug` never shows what the credential services carry: the
/// issued secrets and tokens, the metadata session token, an AssumeRole's
/// signature or an OIDC token (the paths only, as for OSS requests).
#[tokio::test]
async fn binary_logs_no_secret_of_the_credential_services() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_osscb-emulator"))
            .args([
                "--listen=127.0.0.1:0",
                "--log=debug",
                "--ecs-role=log-role",
                "--metadata-requires-token",
                "--credential-lifetime=900",
            ])
            .env("OSSCB_EMULATOR_ACCESS_KEY_ID", ID)
            .env("OSSCB_EMULATOR_ACCESS_KEY_SECRET", SECRET)
            .env("OSSCB_EMULATOR_OIDC_TOKEN", "eyJ.0idcT0ken.sig")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the emulator starts"),
    );
    let addr = listening_address(&mut child);
    let endpoint = format!("http://{addr}");
    let request = |method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>| {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{endpoint}{path}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(body).expect("request")
    };
    let mut secrets = vec![SECRET.to_owned(), "0idcT0ken".to_owned()];

    let token = send(
        addr,
        request(
            "PUT",
            "/__osscb/metadata/latest/api/token",
            &[("x-aliyun-ecs-metadata-token-ttl-seconds", "60")],
            Vec::new(),
        ),
    )
    .await;
    assert_eq!(token.status, 200);
    let token = token.text();
    let path = "/__osscb/metadata/latest/meta-data/ram/security-credentials/log-role";
    let r = send(
        addr,
        request(
            "GET",
            path,
            &[("x-aliyun-ecs-metadata-token", &token)],
            Vec::new(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let value: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let field = |name: &str| value[name].as_str().expect("field").to_owned();
    let issued = osscb_core::Credentials::new(field("AccessKeyId"), field("AccessKeySecret"))
        .with_security_token(field("SecurityToken"));
    secrets.extend([
        token.clone(),
        field("AccessKeySecret"),
        field("SecurityToken"),
    ]);

    let body = role_body("log-session", "900");
    let query = signed_query(
        &issued,
        "log-nonce",
        &utc(std::time::SystemTime::now()),
        &body,
    );
    secrets.push(query.last().expect("signature").1.clone());
    let r = send(addr, sts_request(&endpoint, "/__osscb/sts/", &query, &body)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let value: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let sts = &value["Credentials"];
    for name in ["AccessKeySecret", "SecurityToken"] {
        secrets.push(sts[name].as_str().expect("field").to_owned());
    }

    let oidc = pairs(&[
        ("RoleArn", ROLE_ARN),
        ("OIDCProviderArn", "acs:ram::1:oidc-provider/p"),
        ("OIDCToken", "eyJ.0idcT0ken.sig"),
        ("RoleSessionName", "oidc-log"),
    ]);
    let common = pairs(&[
        ("Action", "AssumeRoleWithOIDC"),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
    ]);
    let r = send(
        addr,
        sts_request(&endpoint, "/__osscb/sts/", &common, &oidc),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = send(
        addr,
        request("GET", "/__osscb/credentials", &[], Vec::new()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let value: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    secrets.push(value["AccessKeySecret"].as_str().expect("field").to_owned());

    let put = PutObject::new(b("bucket"), k("log/issued")).content_length(2);
    let r = send(
        addr,
        put.request()
            .expect("request")
            .map_body(|()| b"hi".to_vec())
            .sign(
                &osscb_core::Config::v1(osscb_core::Endpoint::parse(&endpoint).expect("endpoint")),
                &issued,
                std::time::SystemTime::now(),
            )
            .expect("sign"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let _ = child.0.kill();
    let mut log = String::new();
    let stderr = child.0.stderr.take().expect("stderr");
    std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut log).expect("log");
    for path in [
        "path=\"/__osscb/metadata/latest/api/token\"",
        "path=\"/__osscb/sts/\"",
        "path=\"/__osscb/credentials\"",
        "path=\"/bucket/log/issued\"",
    ] {
        assert!(log.contains(path), "{path} in {log}");
    }
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret} in {log}");
    }
}

/// The dashboard's flags: `--dashboard-token` guards its fault controls
/// (and the binary names its URL on a second line); `--no-dashboard` turns
/// it off.
#[tokio::test]
async fn binary_dashboard_flags() {
    let start = |flags: &[&str]| {
        Child(
            Command::new(env!("CARGO_BIN_EXE_osscb-emulator"))
                .args(["--listen=127.0.0.1:0", "--access-key-id", ID])
                .args(["--access-key-secret", SECRET])
                .args(flags)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the emulator starts"),
        )
    };
    let control = |addr: SocketAddr, authorization: &str| {
        http::Request::post(format!("http://{addr}/__osscb/faults"))
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body(br#"{"clear":true}"#.to_vec())
            .expect("request")
    };

    let mut child = start(&["--dashboard-token", "d4sh"]);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("stdout");
    let addr: SocketAddr = first
        .strip_prefix("osscb-emulator listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{first}"));
    let second = lines.next().expect("a second line").expect("stdout");
    assert_eq!(second, format!("dashboard: http://{addr}/__osscb/"));
    assert_eq!(send(addr, control(addr, "Bearer nope")).await.status, 403);
    assert_eq!(send(addr, control(addr, "Bearer d4sh")).await.status, 200);

    let mut child = start(&["--no-dashboard"]);
    let addr = listening_address(&mut child);
    let page = http::Request::get(format!("http://{addr}/__osscb/"))
        .body(Vec::new())
        .expect("request");
    assert_eq!(send(addr, page).await.status, 404);
    assert_eq!(send(addr, control(addr, "Bearer d4sh")).await.status, 404);
}
