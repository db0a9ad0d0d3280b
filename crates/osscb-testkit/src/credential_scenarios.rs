//! Scenarios of the credential sources against the emulator's metadata
//! service, STS and credentials URI: each source signs an upload with a
//! callback, temporary credentials are refreshed before they expire, and a
//! chain is walked in order. Part of [`crate::scenarios!`].

use std::time::Duration;

use osscb_core::credentials::source::{EcsRamRole, OidcRoleArn, RamRoleArn, Source};
use osscb_core::upload::UploadOptions;
use osscb_emulator::{Emulator, EmulatorConfig};

use crate::{BODY, ID, Receiver, SECRET, Settings, Transport, creds};

const ROLE: &str = "acs:ram::1234567890123456:role/uploader";
const OIDC_PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa";
const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.test-token";

/// An emulator whose temporary credentials last `lifetime`.
fn issuing(lifetime: Duration) -> Emulator {
    let config = EmulatorConfig::new(ID, SECRET)
        .credential_lifetime(lifetime)
        .metadata_requires_token(true)
        .oidc_token(OIDC_TOKEN);
    Emulator::start(config).expect("emulator starts")
}

fn metadata(emu: &Emulator) -> EcsRamRole {
    EcsRamRole {
        role_name: None,
        endpoint: format!("{}/__osscb/metadata", emu.endpoint()),
        imdsv1_disabled: true,
    }
}

fn sts(emu: &Emulator) -> String {
    format!("{}/__osscb/sts", emu.endpoint())
}

fn oidc(emu: &Emulator, token_file: &std::path::Path) -> OidcRoleArn {
    let mut oidc = OidcRoleArn::new(ROLE, OIDC_PROVIDER, token_file);
    oidc.sts_endpoint = sts(emu);
    oidc
}

/// Uploads `key` with a callback and checks the answer names it.
fn upload<T: Transport>(bucket: &T, receiver: &Receiver, key: &str) {
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let output = bucket.put_object(key, b"signed", &options).expect("put");
    let answer = output.callback.expect("callback answer").text();
    let object = key.replace('/', "%2F");
    assert!(
        answer.contains(&format!("object={object}&size=6")),
        "{answer}"
    );
}

/// The ECS RAM role, from the metadata service in hardened mode (the
/// emulator refuses requests without a session token): uploads with a
/// callback keep working across the expiry of 2-second credentials, because
/// they are fetched again before they lapse.
pub fn the_ecs_ram_role_signs_uploads_across_credential_expiry<T: Transport>() {
    let emu = issuing(Duration::from_secs(2));
    let receiver = Receiver::start(&emu);
    let settings = Settings::new(&emu, Source::EcsRamRole(metadata(&emu)));
    let bucket = T::build(settings.clone()).expect("client");
    upload(&bucket, &receiver, "ecs/first.txt");
    let first = emu.issued_credentials();
    assert!(first >= 1, "credentials came from the metadata service");
    std::thread::sleep(Duration::from_millis(2_200));
    upload(&bucket, &receiver, "ecs/after-expiry.txt");
    assert!(
        emu.issued_credentials() > first,
        "refreshed, not reused expired"
    );
    let v4 = T::build(settings.region("cn-hangzhou")).expect("client");
    upload(&v4, &receiver, "ecs/v4.txt");
}

/// STS AssumeRole signed with the emulator's AccessKey, and AssumeRole
/// signed with the metadata service's temporary credentials (a source
/// from another source).
pub fn assume_role_signs_uploads_with_a_key_or_another_source<T: Transport>() {
    let emu = issuing(Duration::from_secs(900));
    let receiver = Receiver::start(&emu);
    let mut role = RamRoleArn::new(creds(), ROLE);
    role.sts_endpoint = sts(&emu);
    let bucket = T::build(Settings::new(
        &emu,
        Source::RamRoleArn(Box::new(role.clone())),
    ))
    .expect("client");
    upload(&bucket, &receiver, "role/with-key.txt");
    role.base = Source::EcsRamRole(metadata(&emu));
    role.session_name = Some("from-ecs".to_owned());
    let chained = Source::RamRoleArn(Box::new(role));
    let bucket = T::build(Settings::new(&emu, chained)).expect("client");
    upload(&bucket, &receiver, "role/from-ecs.txt");
}

/// AssumeRoleWithOIDC with the token file RRSA mounts, and the credentials
/// URI.
pub fn oidc_and_the_credentials_uri_sign_uploads<T: Transport>() {
    let emu = issuing(Duration::from_secs(900));
    let receiver = Receiver::start(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{OIDC_TOKEN}\n")).expect("token");
    let source = Source::OidcRoleArn(oidc(&emu, &token_file));
    let bucket = T::build(Settings::new(&emu, source)).expect("client");
    upload(&bucket, &receiver, "oidc/object.txt");
    let uri = Source::Uri(format!("{}/__osscb/credentials", emu.endpoint()));
    let bucket = T::build(Settings::new(&emu, uri)).expect("client");
    upload(&bucket, &receiver, "uri/object.txt");
}

/// A chain is walked in order: an OIDC token STS refuses, then a metadata
/// service that is down, then the credentials URI, which signs the upload.
/// When every source fails, the error names each, in order, and no request
/// reaches OSS.
pub fn a_chain_walks_its_sources_in_order<T: Transport>() {
    let emu = issuing(Duration::from_secs(900));
    let receiver = Receiver::start(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-token").expect("token");
    let down = EcsRamRole {
        endpoint: Receiver::down_url(),
        ..metadata(&emu)
    };
    let uri = Source::Uri(format!("{}/__osscb/credentials", emu.endpoint()));
    let chain = |last: Source| {
        Source::Chain(vec![
            Source::OidcRoleArn(oidc(&emu, &wrong)),
            Source::EcsRamRole(down.clone()),
            last,
        ])
    };
    let bucket = T::build(Settings::new(&emu, chain(uri))).expect("client");
    upload(&bucket, &receiver, "chain/object.txt");

    let none = Source::Uri(format!("{}/__osscb/no-such-service", emu.endpoint()));
    let bucket = T::build(Settings::new(&emu, chain(none))).expect("client");
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let error = bucket
        .put_object("chain/never.txt", b"x", &options)
        .expect_err("no source gives credentials");
    let text = error.to_string();
    let at = |kind: &str| {
        text.find(kind)
            .unwrap_or_else(|| panic!("{kind} in {text}"))
    };
    assert!(
        at("oidc_role_arn") < at("ecs_ram_role") && at("ecs_ram_role") < at("credentials_uri"),
        "{text}"
    );
    assert!(
        text.contains("InvalidParameter.OIDCToken"),
        "STS's reason: {text}"
    );
    assert!(
        !text.contains("not-the-token"),
        "the token stays out: {text}"
    );
    assert_eq!(receiver.count(), 1, "only the first upload called back");
}

/// The default chain, its variables and files injected: the
/// `ALIBABA_CLOUD_*` variables, then the aliyun CLI's profile (a RAM role
/// assumed with its key at the emulator's STS), then the credentials file's
/// (the ECS RAM role), each signing an upload.
pub fn the_default_chain_reads_variables_and_profile_files<T: Transport>() {
    use osscb_core::credentials::chain::{Endpoints, Vars, default_chain};
    let emu = issuing(Duration::from_secs(900));
    let receiver = Receiver::start(&emu);
    let home = tempfile::tempdir().expect("tempdir");
    let cli = format!(
        r#"{{"current":"ops","profiles":[{{"name":"ops","mode":"RamRoleArn",
        "access_key_id":"{ID}","access_key_secret":"{SECRET}","ram_role_arn":"{ROLE}",
        "ram_session_name":"cli"}}]}}"#
    );
    let ini = "[default]\ntype = ecs_ram_role\n";
    let endpoints = Endpoints {
        metadata: metadata(&emu).endpoint,
        sts: Some(sts(&emu)),
    };
    let resolve = |vars: &[(&str, String)], files: &[(&str, &str)]| {
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        let read = |path: &std::path::Path| {
            let name = path.strip_prefix(home.path()).ok()?.to_str()?.to_owned();
            files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| (*t).to_owned())
        };
        default_chain(&Vars::new(&var, &read), &endpoints).expect("a source")
    };
    let home_var = ("HOME", home.path().display().to_string());
    let keys = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ID.to_owned()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET.to_owned()),
        home_var.clone(),
    ];
    let both = [
        (".aliyun/config.json", cli.as_str()),
        (".alibabacloud/credentials", ini),
    ];
    let cases = [
        ("variables", resolve(&keys, &both), "static"),
        ("cli", resolve(&keys[2..], &both), "chain"),
        ("ini", resolve(&keys[2..], &both[1..]), "chain"),
    ];
    for (name, source, kind) in cases {
        assert_eq!(source.kind(), kind, "{name}: {source:?}");
        let before = emu.issued_credentials();
        let bucket = T::build(Settings::new(&emu, source)).expect("client");
        upload(&bucket, &receiver, &format!("chain/{name}.txt"));
        let issued = emu.issued_credentials() - before;
        assert_eq!(issued, u64::from(name != "variables"), "{name}");
    }
    let from = |kind| emu.issued_credentials_from(kind);
    use osscb_emulator::CredentialSource::{AssumeRole, Metadata};
    assert_eq!(
        (from(AssumeRole), from(Metadata)),
        (1, 1),
        "the CLI's role, then the INI's ECS role"
    );
}
