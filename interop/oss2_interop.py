"""The official Python SDK (oss2) against osscb-emulator, then the signature differential.

Started by `cargo xtask interop`, which runs two emulators and passes:
  OSSCB_ENDPOINT, OSSCB_PUB_KEY_URL   the plain emulator and its callback public key
  OSSCB_STS_ENDPOINT                  an emulator that requires OSSCB_STS_TOKEN
  OSSCB_ACCESS_KEY_ID, OSSCB_ACCESS_KEY_SECRET, OSSCB_STS_TOKEN
  OSSCB_SIGN_JSONL                 the osscb-core example the differential feeds
  OSSCB_APP_SERVER_JSONL              the osscb-core example that signs direct uploads
                                      (post_policy, presigned PUT) and verifies callbacks

Only oss2's public API (and `requests`, for presigned URLs and PostObject forms) talks
to the emulator. A callback receiver (http.server in a thread) checks every callback's
RSA signature with its own small PKCS#1 v1.5 verifier, independent of osscb's; for
direct uploads signed by osscb it also asks osscb's verifier. Prints one line per step
and `N passed, M failed`.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit, urlunsplit

import oss2
import requests

import differential

ENDPOINT = os.environ["OSSCB_ENDPOINT"]
PUB_KEY_URL = os.environ["OSSCB_PUB_KEY_URL"]
STS_ENDPOINT = os.environ["OSSCB_STS_ENDPOINT"]
ACCESS_KEY_ID = os.environ["OSSCB_ACCESS_KEY_ID"]
ACCESS_KEY_SECRET = os.environ["OSSCB_ACCESS_KEY_SECRET"]
STS_TOKEN = os.environ["OSSCB_STS_TOKEN"]
APP_SERVER_JSONL = os.environ.get("OSSCB_APP_SERVER_JSONL")
BUCKET = "interop-bucket"
TIMEOUT = 15


# --- an independent RSA PKCS#1 v1.5 / MD5 verifier ------------------------------

def _der(data, pos):
    """(tag, content, next position) of the DER element at `pos`."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + length], pos + length


def rsa_public_key(pem):
    """(n, e) from a SubjectPublicKeyInfo PEM."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    spki = base64.b64decode(body)
    tag, seq, _ = _der(spki, 0)
    assert tag == 0x30, "SPKI is not a SEQUENCE"
    tag, algorithm, pos = _der(seq, 0)
    assert tag == 0x30 and b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" in algorithm, "not an RSA key"
    tag, bits, _ = _der(seq, pos)
    assert tag == 0x03 and bits[0] == 0, "no BIT STRING"
    tag, rsa_key, _ = _der(bits[1:], 0)
    assert tag == 0x30, "RSAPublicKey is not a SEQUENCE"
    tag, n, pos = _der(rsa_key, 0)
    assert tag == 0x02
    tag, e, _ = _der(rsa_key, pos)
    assert tag == 0x02
    return int.from_bytes(n, "big"), int.from_bytes(e, "big")


MD5_DIGEST_INFO = bytes.fromhex("3020300c06082a864886f70d020505000410")


def rsa_md5_verify(key, message, signature):
    """RSA PKCS#1 v1.5 signature check with MD5 (RFC 8017 §8.2.2)."""
    n, e = key
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = MD5_DIGEST_INFO + hashlib.md5(message).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return len(expected) == k and em == expected


def callback_string_to_sign(raw_path, body):
    """url_decode(path) + ("?" + query if there is one) + "\\n" + body, as bytes."""
    path, sep, query = raw_path.partition("?")
    out = unquote_to_bytes(path)
    if sep and query:
        out += b"?" + query.encode("latin-1")
    return out + b"\n" + body


# OSS's real callback key and a signature it made (the example on OSS's Callback API page).
OSS_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----"""
OSS_DOC_AUTHORIZATION = (
    "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA=="
)


# --- osscb as the application server ---------------------------------------------

class AppServer:
    """The `app_server_jsonl` example, one JSON line in, one out."""

    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lock = threading.Lock()
        self.next_id = 0

    def ask(self, mode, **request):
        with self.lock:
            self.next_id += 1
            request.update(id=self.next_id, mode=mode)
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        assert line, "app_server_jsonl exited"
        answer = json.loads(line)
        assert answer["id"] == request["id"], answer
        return answer

    def verify(self, path, query, headers, body, trust):
        """osscb's verdict: ("ok", variables) or ("error", message)."""
        fields = dict(path=path, query=query, body=body.decode("utf-8"), trust=trust,
                      content_type=headers.get("content-type"),
                      authorization=headers.get("authorization"),
                      pub_key_url=headers.get("x-oss-pub-key-url"))
        step1 = self.ask("key_url", **fields)
        if "error" in step1:
            return "error", step1["error"]
        with urllib.request.urlopen(step1["key_url"], timeout=TIMEOUT) as resp:
            pem = resp.read().decode()
        step2 = self.ask("verify", public_key_pem=pem, **fields)
        if "error" in step2:
            return "error", step2["error"]
        return "ok", step2["variables"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT)


APP = None


# --- the callback receiver -------------------------------------------------------

class Receiver:
    """Callback server. Paths: /ok/... verify and answer JSON; /app/... also ask
    osscb's verifier and answer 400 unless both accept; /fail500/... answer 500;
    /notjson/... answer 200 with text. Every call is recorded."""

    def __init__(self):
        self.calls = []
        self.keys = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                call = receiver.record(self.path, self.headers, body)
                if self.path.startswith("/fail500"):
                    status, ctype, answer = 500, "application/json", b'{"Status":"Error"}'
                elif self.path.startswith("/notjson"):
                    status, ctype, answer = 200, "text/plain", b"this is not json"
                elif self.path.startswith("/app"):
                    path, _, query = self.path.partition("?")
                    verdict, detail = APP.verify(path, query, call["headers"], body, [ENDPOINT + "/", STS_ENDPOINT + "/"])
                    call["osscb"] = (verdict, detail)
                    ok = verdict == "ok" and call["verified"]
                    status, ctype = (200 if ok else 400), "application/json"
                    answer = json.dumps({"Status": "OK" if ok else "Rejected", "osscb": detail}).encode()
                else:
                    status, ctype = 200, "application/json"
                    answer = json.dumps({"Status": "OK", "call": call["n"], "verified": call["verified"]}).encode()
                call["answer"] = answer
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def public_key(self, url):
        if url not in self.keys:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
                self.keys[url] = rsa_public_key(resp.read().decode())
        return self.keys[url]

    def record(self, path, headers, body):
        call = {"path": path, "headers": {k.lower(): v for k, v in headers.items()}, "body": body, "verified": False, "error": None}
        try:
            key_url = base64.b64decode(headers["x-oss-pub-key-url"]).decode()
            # Trust only the emulators under test, as an app server trusts gosspublic.alicdn.com.
            if not key_url.startswith((ENDPOINT + "/", STS_ENDPOINT + "/")):
                raise AssertionError("untrusted key URL %r" % key_url)
            signature = base64.b64decode(headers["authorization"])
            message = callback_string_to_sign(path, body)
            call["verified"] = rsa_md5_verify(self.public_key(key_url), message, signature)
            if not call["verified"]:
                call["error"] = "bad signature over %r" % message
            call["key"], call["signature"] = self.public_key(key_url), signature
        except Exception as e:  # noqa: BLE001 - recorded, asserted by the steps
            call["error"] = repr(e)
        with self.lock:
            call["n"] = len(self.calls) + 1
            self.calls.append(call)
        return call

    def take(self, count):
        """The calls received since the last take; asserts there are `count`."""
        with self.lock:
            calls, self.calls = self.calls, []
        assert len(calls) == count, "expected %d callback(s), got %d: %r" % (
            count, len(calls), [(c["path"], c["body"]) for c in calls])
        return calls

    def verified(self, count=1):
        calls = self.take(count)
        for call in calls:
            assert call["verified"], "callback to %s not verified: %s" % (call["path"], call["error"])
        return calls


# --- steps -----------------------------------------------------------------------

STEPS = []


def step(name):
    def register(fn):
        STEPS.append((name, fn))
        return fn
    return register


def b64json(value):
    return oss2.utils.b64encode_as_string(json.dumps(value))


def bucket_for(auth=None, endpoint=ENDPOINT, region=None):
    auth = auth or oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    return oss2.Bucket(auth, endpoint, BUCKET, connect_timeout=TIMEOUT, region=region)


V4_REGION = "cn-hangzhou"


def bucket_v4(secret=ACCESS_KEY_SECRET):
    """A bucket signing with Signature V4 (oss2's ProviderAuthV4) for V4_REGION."""
    provider = oss2.StaticCredentialsProvider(ACCESS_KEY_ID, secret)
    return bucket_for(oss2.ProviderAuthV4(provider), region=V4_REGION)


def callback_headers(url, body, body_type=None, variables=None):
    config = {"callbackUrl": url, "callbackBody": body}
    if body_type:
        config["callbackBodyType"] = body_type
    headers = {"x-oss-callback": b64json(config)}
    if variables:
        headers["x-oss-callback-var"] = b64json(variables)
    return headers


def error_xml(body):
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    return {child.tag: child.text for child in root}


def expect_error(fn, status, code=None):
    try:
        fn()
    except oss2.exceptions.OssError as e:
        assert e.status == status, "status %s, wanted %s: %s" % (e.status, status, e)
        if code is not None:
            assert e.code == code, "code %r, wanted %r: %s" % (e.code, code, e)
        return e
    raise AssertionError("no error, wanted %s %s" % (status, code or ""))


RECEIVER = None
FORM_BODY = "bucket=${bucket}&object=${object}&size=${size}&etag=${etag}&mime=${mimeType}&my_var=${x:my_var}"


@step("the receiver's verifier accepts OSS's documented callback, rejects it with a trailing newline")
def verifier_self_test():
    key = rsa_public_key(OSS_PUBLIC_KEY)
    assert key[0].bit_length() == 512 and key[1] == 65537
    signature = base64.b64decode(OSS_DOC_AUTHORIZATION)
    message = callback_string_to_sign("/index.php?id=1&index=2", b"bucket=yonghu-test")
    assert rsa_md5_verify(key, message, signature)
    assert not rsa_md5_verify(key, message + b"\n", signature)
    assert not rsa_md5_verify(key, callback_string_to_sign("/index.php", b"bucket=yonghu-test"), signature)


@step("put_object with callback and callback-var: signed callback, substituted body, answer relayed")
def put_with_callback(bucket=None, key="interop/put 回调 +&=%.txt"):
    bucket = bucket or bucket_for()
    data = b"hello from oss2 " * 64
    headers = callback_headers(
        RECEIVER.url + "/ok/put?from=oss2", FORM_BODY,
        variables={"x:my_var": "for-callback-test & more"},
    )
    headers["Content-Type"] = "text/plain"
    result = bucket.put_object(key, data, headers=headers)
    assert result.status == 200, result.status
    answer = result.resp.read()
    [call] = RECEIVER.verified(1)
    assert answer == call["answer"], "relayed %r, receiver answered %r" % (answer, call["answer"])
    assert call["path"] == "/ok/put?from=oss2", call["path"]
    assert call["headers"].get("content-type") == "application/x-www-form-urlencoded", call["headers"]
    form = {k: v[0] for k, v in parse_qs(call["body"].decode(), keep_blank_values=True).items()}
    want = {"bucket": BUCKET, "object": key, "size": str(len(data)), "etag": result.etag,
            "mime": "text/plain", "my_var": "for-callback-test & more"}
    assert form == want, "callback body %r, wanted %r" % (form, want)
    assert result.crc is not None, "no x-oss-hash-crc64ecma"
    # The verifier is not a rubber stamp: the same signature over a changed body fails.
    tampered = callback_string_to_sign(call["path"], call["body"] + b"x")
    assert not rsa_md5_verify(call["key"], tampered, call["signature"])
    assert bucket.get_object(key).read() == data


@step("put_object with a JSON callback body")
def put_with_json_callback():
    key = "interop/json-callback.bin"
    data = os.urandom(1000)
    body = '{"bucket":${bucket},"object":${object},"size":${size},"v":${x:my_var}}'
    headers = callback_headers(RECEIVER.url + "/ok/json", body, "application/json",
                               {"x:my_var": 'quote " and & amp'})
    result = bucket_for().put_object(key, data, headers=headers)
    assert result.status == 200
    answer = result.resp.read()
    [call] = RECEIVER.verified(1)
    assert answer == call["answer"]
    assert call["headers"].get("content-type") == "application/json"
    got = json.loads(call["body"])
    assert got == {"bucket": BUCKET, "object": key, "size": 1000, "v": 'quote " and & amp'} or got == {
        "bucket": BUCKET, "object": key, "size": "1000", "v": 'quote " and & amp'}, got


@step("put_object_from_file, then get_object returns the same bytes")
def put_from_file():
    data = os.urandom(300 * 1024)
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        result = bucket_for().put_object_from_file("interop/from file.bin", path)
    finally:
        os.unlink(path)
    assert result.status == 200 and result.crc is not None
    got = bucket_for().get_object("interop/from file.bin")
    assert got.read() == data
    assert got.content_length == len(data)


@step("3-part multipart upload with a callback on completion")
def multipart_with_callback(bucket=None, key="interop/multipart 大.bin"):
    bucket = bucket or bucket_for()
    sizes = [100 * 1024 + 7, 150 * 1024, 1234]
    chunks = [os.urandom(s) for s in sizes]
    upload_id = bucket.init_multipart_upload(key).upload_id
    assert upload_id
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        result = bucket.upload_part(key, upload_id, number, chunk)
        assert result.status == 200 and result.etag and result.crc is not None
        parts.append(oss2.models.PartInfo(number, result.etag, size=len(chunk), part_crc=result.crc))
    listed = bucket.list_parts(key, upload_id)
    assert [p.part_number for p in listed.parts] == [1, 2, 3], listed.parts
    headers = callback_headers(RECEIVER.url + "/ok/multipart", FORM_BODY, variables={"x:my_var": "mp"})
    result = bucket.complete_multipart_upload(key, upload_id, parts, headers=headers)
    assert result.status == 200
    answer = result.resp.read()
    [call] = RECEIVER.verified(1)
    assert answer == call["answer"], "the callback answer must replace the XML result: %r" % answer
    form = {k: v[0] for k, v in parse_qs(call["body"].decode()).items()}
    assert form["object"] == key and form["size"] == str(sum(sizes)) and form["my_var"] == "mp", form
    assert result.etag.endswith("-3"), result.etag
    assert result.crc is not None, "no x-oss-hash-crc64ecma"  # oss2 checked it against the parts
    assert bucket.get_object(key).read() == b"".join(chunks)


@step("Signature V4 (oss2 ProviderAuthV4, cn-hangzhou): put_object with callback")
def put_with_callback_v4():
    put_with_callback(bucket_v4(), "interop/v4 put 回调 +&=%.txt")
    # The emulator really checked a V4 signature: a wrong secret shows its V4 string to sign.
    e = expect_error(lambda: bucket_v4("not-the-secret").get_object("interop/v4 put 回调 +&=%.txt"),
                     403, "SignatureDoesNotMatch")
    sts = e.details.get("StringToSign", "")
    assert sts.startswith("OSS4-HMAC-SHA256\n") and "/%s/oss/aliyun_v4_request\n" % V4_REGION in sts, e.details


@step("Signature V4 (oss2 ProviderAuthV4, cn-hangzhou): 3-part multipart upload with a callback")
def multipart_with_callback_v4():
    multipart_with_callback(bucket_v4(), "interop/v4 multipart 大.bin")


@step("multipart: a part under 100 KiB before the last is EntityTooSmall")
def multipart_too_small():
    bucket = bucket_for()
    key = "interop/too-small.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    parts = []
    for number, chunk in enumerate([b"a" * 1024, b"b" * 1024], start=1):
        result = bucket.upload_part(key, upload_id, number, chunk)
        parts.append(oss2.models.PartInfo(number, result.etag))
    expect_error(lambda: bucket.complete_multipart_upload(key, upload_id, parts), 400, "EntityTooSmall")
    bucket.abort_multipart_upload(key, upload_id)


@step("head_object, delete_object, then head is 404 and get is NoSuchKey")
def head_and_delete():
    bucket = bucket_for()
    key = "interop/to delete?.txt"
    data = b"short-lived"
    bucket.put_object(key, data, headers={"x-oss-meta-color": "blue", "Content-Type": "text/plain"})
    head = bucket.head_object(key)
    assert head.status == 200 and head.content_length == len(data), head.content_length
    assert head.content_type == "text/plain" and head.headers.get("x-oss-meta-color") == "blue"
    assert head.etag == hashlib.md5(data).hexdigest().upper(), head.etag
    assert bucket.get_object(key, byte_range=(0, 4)).read() == data[:5]
    assert bucket.delete_object(key).status == 204
    expect_error(lambda: bucket.head_object(key), 404)
    expect_error(lambda: bucket.get_object(key), 404, "NoSuchKey")


@step("keys with dot segments (a/../b, a/./c, x/.., ./x) are distinct objects, V1 and V4")
def dot_segment_keys():
    # oss2 writes '/' in keys as %2F, so no dot segment reaches the URL parser;
    # the whole-key '..' and '.' cannot go through requests (urllib3 removes
    # them), the Rust tests cover those.
    keys = ["interop/a/../b", "interop/a/./c", "interop/x/..", "./interop/x"]
    for label, bucket in [("v1", bucket_for()), ("v4", bucket_v4())]:
        for key in keys:
            bucket.put_object(key, ("%s %s" % (label, key)).encode())
        for key in keys:
            got = bucket.get_object(key).read()
            assert got == ("%s %s" % (label, key)).encode(), (label, key, got)
        url = bucket.sign_url("GET", keys[0], 60)
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            assert resp.read() == ("%s %s" % (label, keys[0])).encode()


@step("sign_url GET and PUT used with requests; a tampered URL is refused")
def signed_urls():
    bucket = bucket_for()
    key = "interop/signed url 文件 +&=.txt"
    data = b"through a presigned PUT"
    put_url = bucket.sign_url("PUT", key, 60, headers={"Content-Type": "text/plain"})
    resp = requests.put(put_url, data=data, headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert resp.status_code == 200, (resp.status_code, resp.text)
    get_url = bucket.sign_url("GET", key, 60)
    resp = requests.get(get_url, timeout=TIMEOUT)
    assert resp.status_code == 200 and resp.content == data, (resp.status_code, resp.content)
    assert resp.headers.get("Content-Type") == "text/plain"
    # A different Content-Type than signed → the signature no longer matches.
    resp = requests.put(put_url, data=data, headers={"Content-Type": "text/html"}, timeout=TIMEOUT)
    assert resp.status_code == 403 and "SignatureDoesNotMatch" in resp.text, (resp.status_code, resp.text)
    parts = urlsplit(get_url)
    other = urlunsplit(parts._replace(path=parts.path + "x"))
    resp = requests.get(other, timeout=TIMEOUT)
    assert resp.status_code == 403 and "SignatureDoesNotMatch" in resp.text, (resp.status_code, resp.text)


@step("sign_url PUT with callback and callback-var in the query: callback answer relayed")
def signed_put_with_callback():
    bucket = bucket_for()
    key = "interop/presigned callback ü.txt"
    data = b"presigned with a callback"
    params = {
        "callback": b64json({"callbackUrl": RECEIVER.url + "/ok/presigned", "callbackBody": FORM_BODY}),
        "callback-var": b64json({"x:my_var": "from the URL"}),
    }
    url = bucket.sign_url("PUT", key, 60, params=params)
    resp = requests.put(url, data=data, timeout=TIMEOUT)
    assert resp.status_code == 200, (resp.status_code, resp.text)
    [call] = RECEIVER.verified(1)
    assert resp.content == call["answer"], (resp.content, call["answer"])
    form = {k: v[0] for k, v in parse_qs(call["body"].decode()).items()}
    assert form["object"] == key and form["my_var"] == "from the URL", form
    assert bucket.get_object(key).read() == data


@step("an expired presigned URL is refused")
def expired_url():
    bucket = bucket_for()
    bucket.put_object("interop/expiring.txt", b"x")
    url = bucket.sign_url("GET", "interop/expiring.txt", 1)
    time.sleep(2.1)
    resp = requests.get(url, timeout=TIMEOUT)
    assert resp.status_code == 403, (resp.status_code, resp.text)


@step("wrong secret: SignatureDoesNotMatch 403 with the string to sign; wrong id: InvalidAccessKeyId")
def wrong_credentials():
    bucket = bucket_for(oss2.Auth(ACCESS_KEY_ID, "not-the-secret"))
    e = expect_error(lambda: bucket.put_object("interop/denied.txt", b"x"), 403, "SignatureDoesNotMatch")
    assert isinstance(e, oss2.exceptions.SignatureDoesNotMatch)
    assert e.details.get("StringToSign", "").endswith("/%s/interop/denied.txt" % BUCKET), e.details
    bucket = bucket_for(oss2.Auth("no-such-id", ACCESS_KEY_SECRET))
    expect_error(lambda: bucket.get_object("interop/denied.txt"), 403, "InvalidAccessKeyId")
    expect_error(lambda: bucket_for().head_object("interop/denied.txt"), 404)


@step("STS: StsAuth put/get and presigned GET; no token or a wrong token is refused")
def sts():
    bucket = bucket_for(oss2.StsAuth(ACCESS_KEY_ID, ACCESS_KEY_SECRET, STS_TOKEN), STS_ENDPOINT)
    key = "interop/sts object.txt"
    data = b"temporary credentials"
    assert bucket.put_object(key, data).status == 200
    assert bucket.get_object(key).read() == data
    url = bucket.sign_url("GET", key, 60)
    assert "security-token=" in url
    resp = requests.get(url, timeout=TIMEOUT)
    assert resp.status_code == 200 and resp.content == data
    plain = bucket_for(endpoint=STS_ENDPOINT)
    expect_error(lambda: plain.get_object(key), 403)
    wrong = bucket_for(oss2.StsAuth(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "wrong-token"), STS_ENDPOINT)
    expect_error(lambda: wrong.get_object(key), 403)


def failing_callback(path, message):
    bucket = bucket_for()
    key = "interop/callback-fails%s.bin" % path.replace("/", "-")
    data = os.urandom(2048)
    headers = callback_headers(RECEIVER.url + path if path else "http://127.0.0.1:9/nowhere", FORM_BODY,
                               variables={"x:my_var": "v"})
    # oss2 treats any 2xx as success: no exception, status 203.
    result = bucket.put_object(key, data, headers=headers)
    assert result.status == 203, result.status
    fields = error_xml(result.resp.read())
    assert fields.get("Code") == "CallbackFailed", fields
    assert message in (fields.get("Message") or ""), fields
    assert fields.get("RequestId") == result.request_id, (fields, result.request_id)
    assert result.etag and result.crc is not None
    RECEIVER.take(1 if path else 0)
    # The object is stored all the same.
    assert bucket.head_object(key).content_length == len(data)
    assert bucket.get_object(key).read() == data


@step("callback answered 500: status 203, CallbackFailed XML, object stored")
def callback_500():
    failing_callback("/fail500", "Error status : 500.")


@step("callback answered non-JSON: status 203, CallbackFailed XML, object stored")
def callback_not_json():
    failing_callback("/notjson", "Response body is not valid json format.")


@step("callback URL unreachable: status 203, CallbackFailed XML, object stored")
def callback_unreachable():
    failing_callback("", "can not connect")


@step("multipart completion with a failing callback: 203, object stored")
def multipart_callback_fails():
    bucket = bucket_for()
    key = "interop/multipart-callback-fails.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    chunk = os.urandom(4096)
    part = bucket.upload_part(key, upload_id, 1, chunk)
    headers = callback_headers(RECEIVER.url + "/fail500", FORM_BODY)
    result = bucket.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(1, part.etag)], headers=headers)
    assert result.status == 203, result.status
    assert error_xml(result.resp.read()).get("Code") == "CallbackFailed"
    RECEIVER.take(1)
    assert bucket.get_object(key).read() == chunk


def direct_upload(mode, key, endpoint=ENDPOINT, token=None, content_type="text/plain"):
    """osscb's signed PostObject form or presigned PUT for `key`, calling back /app."""
    answer = APP.ask(
        mode, endpoint=endpoint, bucket=BUCKET, key=key, content_type=content_type,
        access_key_id=ACCESS_KEY_ID, access_key_secret=ACCESS_KEY_SECRET, security_token=token,
        callback_url=RECEIVER.url + "/app/" + mode + "?k=v", callback_body=FORM_BODY,
        vars={"x:my_var": "direct " + mode}, now=int(time.time()), expires_in=600,
    )
    assert "error" not in answer, answer
    return answer


def check_app_callback(resp, key, size, mode):
    assert resp.status_code == 200, (resp.status_code, resp.text)
    [call] = RECEIVER.verified(1)
    assert call["osscb"][0] == "ok", "osscb's verifier refused: %s" % (call["osscb"],)
    assert resp.content == call["answer"], (resp.content, call["answer"])
    variables = call["osscb"][1]
    want = {"bucket": BUCKET, "object": key, "size": str(size), "my_var": "direct " + mode}
    assert {k: variables.get(k) for k in want} == want, variables
    return call


def app_required():
    assert APP is not None, "OSSCB_APP_SERVER_JSONL is not set"


@step("osscb post_policy form posted with requests: callback verified by osscb and independently")
def post_object_form():
    app_required()
    key = "interop/post form 表单 +&.txt"
    data = b"uploaded by a browser-like form"
    form = direct_upload("post_form", key)
    resp = requests.post(form["url"], data=form["fields"], timeout=TIMEOUT,
                         files={"file": ("local name.txt", data, "text/plain")})
    check_app_callback(resp, key, len(data), "post_form")
    head = bucket_for().head_object(key)
    assert head.content_length == len(data) and head.content_type == "text/plain"
    assert bucket_for().get_object(key).read() == data


@step("osscb post_policy form with STS credentials against the STS emulator")
def post_object_form_sts():
    app_required()
    key = "interop/post form sts.txt"
    data = b"temporary credentials in a form"
    form = direct_upload("post_form", key, endpoint=STS_ENDPOINT, token=STS_TOKEN)
    assert ("x-oss-security-token", STS_TOKEN) in [tuple(f) for f in form["fields"]]
    resp = requests.post(form["url"], data=form["fields"], timeout=TIMEOUT,
                         files={"file": ("f.txt", data, "text/plain")})
    check_app_callback(resp, key, len(data), "post_form")
    sts_bucket = bucket_for(oss2.StsAuth(ACCESS_KEY_ID, ACCESS_KEY_SECRET, STS_TOKEN), STS_ENDPOINT)
    assert sts_bucket.get_object(key).read() == data


@step("a post_policy form with a changed key or a forged signature is refused, nothing stored")
def post_object_form_tampered():
    app_required()
    key = "interop/post form exact.txt"
    form = direct_upload("post_form", key)
    other = [["key", "interop/somewhere else.txt"] if k == "key" else [k, v] for k, v in form["fields"]]
    resp = requests.post(form["url"], data=other, timeout=TIMEOUT,
                         files={"file": ("f.txt", b"x", "text/plain")})
    assert resp.status_code == 403, (resp.status_code, resp.text)
    forged = [[k, "AAAA" + v[4:]] if k == "Signature" else [k, v] for k, v in form["fields"]]
    resp = requests.post(form["url"], data=forged, timeout=TIMEOUT,
                         files={"file": ("f.txt", b"x", "text/plain")})
    assert resp.status_code == 403 and "SignatureDoesNotMatch" in resp.text, (resp.status_code, resp.text)
    RECEIVER.take(0)
    expect_error(lambda: bucket_for().head_object("interop/somewhere else.txt"), 404)
    expect_error(lambda: bucket_for().head_object(key), 404)


@step("osscb presigned PUT with callback uploaded with requests: callback verified by osscb")
def presigned_put_form():
    app_required()
    key = "interop/presigned by osscb ü.txt"
    data = b"uploaded through osscb's presigned PUT"
    put = direct_upload("presign_put", key)
    headers = dict(put["headers"])
    assert headers.get("content-type") == "text/plain", headers
    resp = requests.put(put["url"], data=data, headers=headers, timeout=TIMEOUT)
    check_app_callback(resp, key, len(data), "presign_put")
    assert bucket_for().get_object(key).read() == data


@step("osscb's verifier refuses a tampered body, a tampered query and an untrusted key URL")
def osscb_verifier_negatives():
    app_required()
    key = "interop/verifier negatives.txt"
    put = direct_upload("presign_put", key)
    resp = requests.put(put["url"], data=b"abc", headers=dict(put["headers"]), timeout=TIMEOUT)
    [call] = RECEIVER.verified(1)
    assert resp.status_code == 200 and call["osscb"][0] == "ok", (resp.status_code, call["osscb"])
    path, _, query = call["path"].partition("?")
    trust = [ENDPOINT + "/"]
    assert APP.verify(path, query, call["headers"], call["body"], trust)[0] == "ok"
    verdict = APP.verify(path, query, call["headers"], call["body"] + b"&x=1", trust)
    assert verdict == ("error", "the callback signature does not match"), verdict
    verdict = APP.verify(path, query + "&k2=v2", call["headers"], call["body"], trust)
    assert verdict == ("error", "the callback signature does not match"), verdict
    verdict = APP.verify(path, query, call["headers"], call["body"], [])
    assert verdict[0] == "error" and "untrusted" in verdict[1], verdict


@step("differential: >=500 generated requests sign identically in oss2 and osscb-core (V1 and V4, dot-segment keys included)")
def signature_differential():
    seed = int(os.environ.get("OSSCB_INTEROP_SEED", "20240501"))
    count = int(os.environ.get("OSSCB_INTEROP_CASES", "600"))
    assert count >= 500
    counts, dots = differential.run_differential(seed, count)
    print("    %s; %d with dot-segment keys (seed %d)" % (differential.describe_counts(counts), dots, seed))


@step("differential: sub-resource lists probed name by name")
def sub_resource_lists():
    only_osscb, only_oss2 = differential.sub_resource_lists()
    print("    signed by osscb only: %s" % (", ".join(only_osscb) or "-"))
    # osscb signs every name oss2 signs; beyond them only Go SDK v2's extras: cloudboxes and x-oss-* keys.
    assert only_oss2 == [], only_oss2
    assert all(name == "cloudboxes" or name.startswith("x-oss-") for name in only_osscb), only_osscb


def main():
    global RECEIVER, APP
    RECEIVER = Receiver()
    if APP_SERVER_JSONL:
        APP = AppServer([APP_SERVER_JSONL])
    passed = failed = 0
    for name, fn in STEPS:
        started = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print("FAIL %s" % name)
            print("    " + traceback.format_exc().replace("\n", "\n    ").rstrip())
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - started))
        sys.stdout.flush()
    RECEIVER.server.shutdown()
    if APP is not None:
        APP.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
