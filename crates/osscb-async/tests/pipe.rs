//! An upload from a real pipe: a writer task feeds one end of a
//! `tokio::io::duplex` at its own pace while parts go out from the other.

use osscb_async::osscb_core::crc64;
use osscb_async::{Client, ClientOptions, UploadOptions};
use osscb_testkit::{creds, data, emulator};
use tokio::io::AsyncWriteExt as _;

#[tokio::test]
async fn an_async_pipe_uploads_in_parts_while_it_is_written() {
    let emulator = emulator();
    let options = ClientOptions::default()
        .endpoint(emulator.endpoint())
        .credentials(creds());
    let client = Client::new(options).unwrap_or_else(|e| panic!("{e}"));
    let bucket = client
        .bucket("examplebucket")
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = data(1024 * 1024 + 3, 31);
    let (mut writer, reader) = tokio::io::duplex(16 * 1024);
    let written = bytes.clone();
    let feeder = tokio::spawn(async move {
        for chunk in written.chunks(10_000) {
            writer.write_all(chunk).await?;
        }
        writer.shutdown().await
    });
    let options = UploadOptions::new().part_size(256 * 1024).parallelism(2);
    let output = bucket
        .upload_reader("pipe/duplex.bin", reader, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    feeder
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.parts, 5);
    assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));
    let (_, body) = bucket
        .get_object("pipe/duplex.bin")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(body == bytes, "the stored bytes are the source's");
}
