"""Signature differential, V1 and V4: oss2 against osscb-core.

Generates seeded random request descriptions, signs each with oss2's own auth code
and with osscb-core (through the `sign_jsonl` example, fed JSON lines), and
compares the string to sign (and for V4 the canonical request), the signature
and, for presigned URLs, the URL. Keys include dot segments (`a/../b`, `..`,
`./x`): both sides must sign the literal key, and osscb's URL must decode to it.

oss2 always signs "now", so its clock is pinned per request: `oss2.utils.http_date`
(V1 header signatures), the `time` module seen by `oss2.auth` (V1 presigned
URLs) and its `datetime` (V4). oss2's strings are recorded by wrapping its
private `ProviderAuth.__get_bytes_to_sign` (V1) and
`ProviderAuthV4.__get_canonical_request_bytes` / `__get_string_to_sign_bytes`
(V4); everything else goes through the same calls oss2's Bucket makes
(`auth._sign_request`, and the public `Bucket.sign_url`).

Run alone: `python differential.py` (builds the example with cargo when
OSSCB_SIGN_JSONL does not name the binary).
"""

import base64
import json
import os
import random
import string
import subprocess
import sys
from datetime import datetime, timezone
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote, urlsplit

import oss2
import oss2.auth
import oss2.credentials
import oss2.utils

# Every sub-resource oss2 signs (osscb signs the same list, plus any x-oss-*
# key); security-token is left out: the STS cases add it.
SUB_RESOURCES = sorted(oss2.auth.ProviderAuth._subresource_key_set - {"security-token"})
# Query parameters neither side signs.
ORDINARY_PARAMS = ["max-keys", "prefix", "marker", "delimiter", "foo", "start-after"]
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"]
ENDPOINTS = ["http://127.0.0.1:9000", "https://oss-cn-hangzhou.aliyuncs.com"]

KEY_PIECES = [
    "photos", "a", "dir/", "nested/dir/", "file.txt", "x", "2024", "data.bin",
    " ", "  ", "?", "#", "%", "+", "&", "=", "%20", "%2F", "a+b", "k=v&x=y",
    "中文", "文件名", "ü", "é", "Ωmega", "файл", "😀", "ﬁ", "ñ", "~", "!", "'",
    "(", ")", "*", ",", ";", ":", "@", "$", "[", "]", "^", "`", "{", "}", "|",
]
# Keys that are (or contain) RFC 3986 dot segments: literal OSS keys.
DOT_KEYS = ["a/../b", "a/./c", "..", ".", "x/..", "./x", "../..", "dir/../../f.txt", "a b/./+c"]
REGIONS = ["cn-hangzhou", "ap-southeast-1", "us-west-1"]
# Headers V4 signs only when asked (additional headers).
EXTRA_HEADERS = ["Content-Disposition", "Cache-Control", "Content-Language"]
VALUE_PIECES = [
    "v", "1", "text/plain", "abc", " ", "/", "+", "=", "&", "%", "?", "#",
    "中文", "é", "a b", "x,y", ";", "image/resize,w_100", "filename=\"a b.txt\"",
]


class _PinnedClock:
    """Stands in for the `time` module in oss2.auth: time() is the pinned instant."""

    now = 0

    @classmethod
    def time(cls):
        return float(cls.now)


class _PinnedDatetime:
    """Stands in for `datetime` in oss2.auth (V4): utcnow() is the pinned instant."""

    @staticmethod
    def utcnow():
        return datetime.fromtimestamp(_PinnedClock.now, timezone.utc).replace(tzinfo=None)


_recorded = []


def _install_hooks():
    """Pins oss2's clocks and records the bytes it signs. Idempotent."""
    if getattr(oss2.auth, "_osscb_hooked", False):
        return
    oss2.utils.http_date = lambda timeval=None: formatdate(
        _PinnedClock.now if timeval is None else timeval, usegmt=True
    )
    oss2.auth.time = _PinnedClock
    oss2.auth.datetime = _PinnedDatetime
    v1_bytes = oss2.auth.ProviderAuth._ProviderAuth__get_bytes_to_sign

    def recording_v1(self, req, bucket_name, key):
        out = v1_bytes(self, req, bucket_name, key)
        _recorded.append(("string_to_sign", out))
        return out

    v4 = oss2.auth.ProviderAuthV4
    v4_canonical = v4._ProviderAuthV4__get_canonical_request_bytes
    v4_string = v4._ProviderAuthV4__get_string_to_sign_bytes

    def recording_canonical(self, req, bucket_name, key, additional):
        out = v4_canonical(self, req, bucket_name, key, additional)
        _recorded.append(("canonical_request", out))
        return out

    def recording_string(self, req, canonical, date_time):
        out = v4_string(self, req, canonical, date_time)
        _recorded.append(("string_to_sign", out))
        return out

    oss2.auth.ProviderAuth._ProviderAuth__get_bytes_to_sign = recording_v1
    v4._ProviderAuthV4__get_canonical_request_bytes = recording_canonical
    v4._ProviderAuthV4__get_string_to_sign_bytes = recording_string
    oss2.auth._osscb_hooked = True


def _is_v4(case):
    return case.get("version", "v1") == "v4"


def _oss2_auth(case):
    if _is_v4(case):
        return oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(
            case["access_key_id"], case["access_key_secret"], case["security_token"] or ""
        ))
    if case["security_token"] is not None:
        return oss2.StsAuth(
            case["access_key_id"], case["access_key_secret"], case["security_token"]
        )
    return oss2.Auth(case["access_key_id"], case["access_key_secret"])


def _host(case):
    """The Host a client sends: the bucket's virtual host unless path style."""
    netloc = urlsplit(case["endpoint"]).netloc
    if case["bucket"] and not netloc.split(":")[0].replace(".", "").isdigit():
        return case["bucket"] + "." + netloc
    return netloc


def oss2_sign(case):
    """oss2's ({name: string}, signature, url or None) for one description:
    the strings are `string_to_sign`, and for V4 `canonical_request`."""
    _install_hooks()
    _PinnedClock.now = case["now"]
    _recorded.clear()
    auth = _oss2_auth(case)
    params = dict(case["query"])
    headers = dict(case["headers"])
    additional = [h.lower() for h in case.get("additional_headers", [])]
    if "host" in additional:
        # osscb signs the URI's host by itself; oss2 signs a Host header it is given.
        headers["Host"] = _host(case)
    region = case.get("region") if _is_v4(case) else None
    if case["mode"] == "header":
        req = oss2.http.Request(case["method"], "http://unused", params=params, headers=headers,
                                region=region, product="oss")
        if _is_v4(case):
            auth._sign_request(req, case["bucket"] or "", case["key"] or "",
                               in_additional_headers=additional or None)
            authorization = req.headers["authorization"]
            signature = authorization.split("Signature=")[1].split(",")[0].strip()
        else:
            auth._sign_request(req, case["bucket"] or "", case["key"] or "")
            authorization = req.headers["authorization"]
            prefix = "OSS %s:" % case["access_key_id"]
            assert authorization.startswith(prefix), authorization
            signature = authorization[len(prefix):]
        url = None
    else:
        bucket = oss2.Bucket(auth, case["endpoint"], case["bucket"], region=region)
        url = bucket.sign_url(
            case["method"], case["key"], case["expires_in"], headers=headers, params=params,
            additional_headers=additional or None,
        )
        query = dict(parse_qsl(urlsplit(url).query))
        signature = query["x-oss-signature"] if _is_v4(case) else query["Signature"]
    strings = {}
    for name, value in _recorded:
        assert name not in strings, "oss2 computed %s twice" % name
        strings[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    assert "string_to_sign" in strings, "oss2 computed no string to sign"
    assert not _is_v4(case) or "canonical_request" in strings, "oss2 computed no canonical request"
    return strings, signature, url


def normalized_url(url):
    """Scheme, host, decoded path and the sorted decoded query: what a server sees."""
    parts = urlsplit(url)
    query = sorted(
        (unquote(k), unquote(v))
        for k, _, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return parts.scheme, parts.netloc, unquote(parts.path), query


# --- the generator ---------------------------------------------------------------

def _text(rng, pieces, lo, hi):
    return "".join(rng.choice(pieces) for _ in range(rng.randint(lo, hi)))


def _ascii_value(rng):
    """A header value: printable ASCII, spaces inside but not at the ends."""
    alphabet = string.ascii_letters + string.digits + " -_.,;:/=+@!*'()&?#%"
    value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))).strip()
    return value or "v"


def _key(rng):
    if rng.random() < 0.15:
        return rng.choice(DOT_KEYS)
    while True:
        key = _text(rng, KEY_PIECES, 1, 6)
        # Valid for both: not empty or blank, no leading '/', '\\' or '?'
        # (oss2's strict key check refuses a leading '?').
        if key.strip() and key[0] not in "/\\?":
            return key


def _bucket(rng):
    if rng.random() < 0.3:
        return "examplebucket"
    alphabet = string.ascii_lowercase + string.digits
    middle = "".join(rng.choice(alphabet + "-") for _ in range(rng.randint(1, 20)))
    return rng.choice(alphabet) + middle + rng.choice(alphabet)


def _sub_resource_value(rng, name):
    if name in ("uploads", "delete", "acl", "tagging", "objectMeta", "symlink",
                "restore", "stat", "bucketInfo", "location", "versions",
                "versioning", "sequential", "append") and rng.random() < 0.7:
        return ""
    if name == "uploadId":
        return "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
    if name in ("partNumber", "position"):
        return str(rng.randint(1, 10000))
    if name in ("callback", "callback-var"):
        doc = {"callbackUrl": "http://127.0.0.1:8080/cb", "callbackBody": "bucket=${bucket}"}
        return base64.b64encode(json.dumps(doc).encode()).decode()
    if name == "x-oss-process":
        return rng.choice(["image/resize,w_100", "image/format,png", "style/thumb"])
    if name == "response-content-disposition":
        return 'attachment; filename="%s"' % _text(rng, KEY_PIECES[:30], 1, 3)
    return _text(rng, VALUE_PIECES, 0, 4)


def generate(seed, count):
    """`count` request descriptions, reproducible from `seed`."""
    rng = random.Random(seed)
    cases = []
    for i in range(1, count + 1):
        mode = "presign" if rng.random() < 0.4 else "header"
        bucket = _bucket(rng)
        key = _key(rng)
        if mode == "header":
            roll = rng.random()
            if roll < 0.05:
                bucket, key = None, None  # service level
            elif roll < 0.2:
                key = None  # bucket level
        query = {}
        for name in rng.sample(SUB_RESOURCES, rng.randint(0, 4)):
            query[name] = _sub_resource_value(rng, name)
        for name in rng.sample(ORDINARY_PARAMS, rng.randint(0, 2)):
            query[name] = _text(rng, VALUE_PIECES, 0, 3)
        headers = {}
        for _ in range(rng.randint(0, 4)):
            name = "x-oss-meta-" + "".join(
                rng.choice(string.ascii_lowercase + string.digits + "-") for _ in range(rng.randint(1, 12))
            )
            if rng.random() < 0.3:
                name = name.title()  # oss2 lowercases names, http::HeaderMap too
            headers[name] = _ascii_value(rng)
        if rng.random() < 0.4:
            headers["Content-Type"] = rng.choice(
                ["text/plain", "application/octet-stream", "image/jpeg", "text/html; charset=utf-8"]
            )
        if rng.random() < 0.3:
            headers["Content-MD5"] = base64.b64encode(rng.randbytes(16)).decode()
        if rng.random() < 0.2:
            headers["x-oss-object-acl"] = rng.choice(["private", "public-read"])
        if rng.random() < 0.15:
            headers["x-oss-storage-class"] = rng.choice(["Standard", "IA", "Archive"])
        version = "v4" if rng.random() < 0.45 else "v1"
        extra = [h for h in EXTRA_HEADERS if rng.random() < 0.25]
        for name in extra:
            headers[name] = _ascii_value(rng)
        additional = []
        if version == "v4":
            additional = [h for h in extra if rng.random() < 0.7]
            if rng.random() < 0.3:
                additional.append("host")
            rng.shuffle(additional)
        if version == "v1" and mode == "header" and rng.random() < 0.15:
            # x-oss-date wins over Date on both sides; in presigned URLs osscb
            # signs Expires, so it is generated for header signatures only.
            headers["x-oss-date"] = formatdate(rng.randint(1_500_000_000, 1_900_000_000), usegmt=True)
        token = None
        if rng.random() < 0.3:
            token = "".join(rng.choice(string.ascii_letters + string.digits + "+/=") for _ in range(rng.randint(8, 64)))
        cases.append({
            "id": i,
            "mode": mode,
            "version": version,
            "region": rng.choice(REGIONS),
            "additional_headers": additional,
            "method": rng.choice(METHODS),
            "endpoint": rng.choice(ENDPOINTS),
            "bucket": bucket,
            "key": key,
            "query": sorted(query.items()) if rng.random() < 0.5 else list(query.items()),
            "headers": list(headers.items()),
            "access_key_id": "LTAI" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16)),
            "access_key_secret": "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30)),
            "security_token": token,
            "now": rng.randint(1_500_000_000, 1_900_000_000),
            "expires_in": rng.randint(1, 7 * 24 * 3600),
        })
    return cases


# --- running osscb's side --------------------------------------------------------

def osscb_command():
    binary = os.environ.get("OSSCB_SIGN_JSONL")
    if binary:
        return [binary]
    return ["cargo", "run", "-q", "-p", "osscb-core", "--example", "sign_jsonl"]


def osscb_sign(cases):
    """osscb's answers for `cases`, by id."""
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    proc = subprocess.run(
        osscb_command(), input=lines.encode("utf-8"), capture_output=True, timeout=300
    )
    if proc.returncode != 0:
        raise AssertionError(
            "sign_jsonl exited %d: %s" % (proc.returncode, proc.stderr.decode(errors="replace"))
        )
    answers = {}
    for line in proc.stdout.decode("utf-8").splitlines():
        answer = json.loads(line)
        answers[answer["id"]] = answer
    missing = [c["id"] for c in cases if c["id"] not in answers]
    assert not missing, "sign_jsonl gave no answer for ids %s" % missing[:10]
    return answers


def compare(cases, answers):
    """Mismatch descriptions (empty when every case agrees)."""
    mismatches = []
    for case in cases:
        ours = answers[case["id"]]
        try:
            strings, signature, url = oss2_sign(case)
        except Exception as e:  # noqa: BLE001 - reported as a mismatch with the case
            mismatches.append(_describe(case, "oss2 failed: %r" % e, ours))
            continue
        if "error" in ours:
            mismatches.append(_describe(case, "osscb failed: %s" % ours["error"], ours))
            continue
        problems = []
        for name in ("canonical_request", "string_to_sign"):
            if name in strings and ours.get(name) != strings[name]:
                problems.append("%s differs:\n      oss2:  %r\n      osscb: %r"
                                % (name, strings[name], ours.get(name)))
        if ours["signature"] != signature:
            problems.append("signature differs: oss2 %s, osscb %s" % (signature, ours["signature"]))
        if url is not None and normalized_url(ours["url"]) != normalized_url(url):
            problems.append("URL differs:\n      oss2:  %s\n      osscb: %s" % (url, ours["url"]))
        if problems:
            mismatches.append(_describe(case, "\n    ".join(problems), ours))
    return mismatches


def _describe(case, what, ours):
    shown = dict(case, access_key_secret="(generated)")
    return "case %d %s\n    request: %s\n    %s" % (
        case["id"], case["mode"], json.dumps(shown, ensure_ascii=False), what
    )


def run_differential(seed, count):
    """Signs `count` generated requests both ways; returns counts by (version, mode)."""
    cases = generate(seed, count)
    answers = osscb_sign(cases)
    mismatches = compare(cases, answers)
    if mismatches:
        shown = "\n".join(mismatches[:20])
        more = "" if len(mismatches) <= 20 else "\n... and %d more" % (len(mismatches) - 20)
        raise AssertionError(
            "%d of %d requests sign differently (seed %d):\n%s%s"
            % (len(mismatches), len(cases), seed, shown, more)
        )
    counts = {}
    for c in cases:
        counts[(c["version"], c["mode"])] = counts.get((c["version"], c["mode"]), 0) + 1
    dots = sum(1 for c in cases if c["key"] in DOT_KEYS)
    assert all(counts.get((v, m), 0) > 0 for v in ("v1", "v4") for m in ("header", "presign")), counts
    assert dots > 0, "no key with dot segments was generated"
    assert any("host" in c["additional_headers"] for c in cases), "no V4 case signs host"
    return counts, dots


def describe_counts(counts):
    """`V1: 200 header signatures, 150 presigned URLs; V4: …`."""
    return "; ".join(
        "%s: %d header signatures, %d presigned URLs"
        % (v.upper(), counts.get((v, "header"), 0), counts.get((v, "presign"), 0))
        for v in ("v1", "v4")
    )


def sub_resource_lists():
    """Probes every name either side treats as a sub-resource.

    Returns (only_osscb, only_oss2): the names the two sign differently. Every
    probe must behave as the two lists predict: equal signatures where the lists
    agree, different ones where they do not.
    """
    ours = set(osscb_sign([{"id": 0, "mode": "sub_resources"}])[0]["sub_resources"])
    theirs = set(oss2.auth.ProviderAuth._subresource_key_set)
    names = sorted(ours | theirs | {"x-oss-foo", "encoding-type"})

    def osscb_signs(name):
        return name in ours or name.startswith("x-oss-")

    cases = []
    for i, name in enumerate(names, start=1):
        cases.append({
            "id": i, "mode": "header", "method": "GET", "endpoint": ENDPOINTS[0],
            "bucket": "examplebucket", "key": "probe", "query": [[name, "v"]],
            "headers": [], "access_key_id": "ak", "access_key_secret": "sk",
            "security_token": None, "now": 1_700_000_000, "expires_in": 60,
        })
    answers = osscb_sign(cases)
    only_osscb, only_oss2, surprises = [], [], []
    for case, name in zip(cases, names):
        sts = oss2_sign(case)[0]["string_to_sign"]
        agree = answers[case["id"]].get("string_to_sign") == sts
        predicted = osscb_signs(name) == (name in theirs)
        if agree != predicted:
            surprises.append(name)
        elif not agree:
            (only_osscb if osscb_signs(name) else only_oss2).append(name)
    assert not surprises, "probes disagree with the sub-resource lists for %s" % surprises
    return only_osscb, only_oss2


def main():
    seed = int(os.environ.get("OSSCB_INTEROP_SEED", "20240501"))
    count = int(os.environ.get("OSSCB_INTEROP_CASES", "600"))
    counts, dots = run_differential(seed, count)
    print("ok: %s agree, %d with dot-segment keys (seed %d)" % (describe_counts(counts), dots, seed))
    only_osscb, only_oss2 = sub_resource_lists()
    print("note: signed by osscb only: %s" % ", ".join(only_osscb))
    print("note: signed by oss2 only: %s" % ", ".join(only_oss2))


if __name__ == "__main__":
    sys.exit(main())
