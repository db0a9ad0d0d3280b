"""The oss2 (Alibaba Cloud's official Python SDK) baselines of `cargo xtask bench`.

Each figure prints one JSON line; run by the xtask from the interop venv:

    bench.py sign ROUNDS ITERS
    bench.py crc FILE ROUNDS
    bench.py put ENDPOINT FILE
    bench.py multipart ENDPOINT FILE PART_MIB THREADS

Nothing here is tuned: oss2 runs with its defaults (CRC checking on) except
for what the figure fixes (part size, threads). Credentials and bucket are the
emulator's test ones (see xtask/src/interop.rs).
"""

import json
import os
import sys
import tempfile
import time

import oss2
import oss2.http
from oss2.credentials import StaticCredentialsProvider

ACCESS_KEY_ID = "osscb-interop-id"
ACCESS_KEY_SECRET = "osscb-interop-secret"
BUCKET = "examplebucket"
SIGN_KEY_ID = "LTAI5tExampleKeyId"
SIGN_SECRET = "ExampleSecretExampleSecret1234"
REGION = "cn-hangzhou"
URL = "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/photo%201.jpg"
KEY = "dir/photo 1.jpg"


def peak_rss_kib():
    """VmHWM of this process, KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def interleaved(rounds, iters, subjects):
    """Median ns per call of each subject, the subjects taking turns per round."""
    samples = [[] for _ in subjects]
    for _ in range(max(rounds, 1)):
        for subject, times in zip(subjects, samples):
            started = time.perf_counter_ns()
            for _ in range(iters):
                subject()
            times.append((time.perf_counter_ns() - started) / iters)
    return [median(times) for times in samples]


def sign(rounds, iters):
    callback = oss2.utils.b64encode_as_string(json.dumps({
        "callbackUrl": "https://app.example.com/cb",
        "callbackBody": "bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}",
    }, separators=(",", ":")))
    v1 = oss2.Auth(SIGN_KEY_ID, SIGN_SECRET)
    v4 = oss2.ProviderAuthV4(StaticCredentialsProvider(SIGN_KEY_ID, SIGN_SECRET))

    def put(auth):
        def run():
            req = oss2.http.Request("PUT", URL, headers={
                "Content-Type": "image/jpeg",
                "Content-Length": "1024",
                "x-oss-callback": callback,
            }, region=REGION, product="oss")
            auth._sign_request(req, BUCKET, KEY)
        return run

    def presign(auth):
        def run():
            req = oss2.http.Request("GET", URL, region=REGION, product="oss")
            auth._sign_url(req, BUCKET, KEY, 3600)
        return run

    times = interleaved(rounds, iters, [put(v1), put(v4), presign(v1), presign(v4)])
    print(json.dumps({
        "figure": "sign",
        "sign_v1_ns": times[0],
        "sign_v4_ns": times[1],
        "presign_v1_ns": times[2],
        "presign_v4_ns": times[3],
    }))


def crc(path, rounds):
    # `crcmod` re-exports its module's names but not this flag; the
    # submodule (crcmod/crcmod.py) has it.
    import crcmod.crcmod  # noqa: F401
    with open(path, "rb") as f:
        data = f.read()
    crc64 = oss2.utils.Crc64
    times = []
    value = 0
    for _ in range(max(rounds, 1)):
        started = time.perf_counter_ns()
        c = crc64()
        c.update(data)
        value = c.crc
        times.append(time.perf_counter_ns() - started)
    print(json.dumps({
        "figure": "crc",
        "bytes": len(data),
        "crc64": str(value),
        "crcmod_gb_s": len(data) / median(times),
        "crcmod_extension": bool(sys.modules["crcmod.crcmod"]._usingExtension),
    }))


def bucket_for(endpoint):
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), endpoint, BUCKET)


def put(endpoint, path):
    bucket = bucket_for(endpoint)
    size = os.path.getsize(path)
    started = time.perf_counter()
    bucket.put_object_from_file("bench/put-oss2.bin", path)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "figure": "put", "mode": "oss2", "bytes": size, "seconds": seconds,
        "mb_s": size / 1e6 / seconds, "rss_kib": peak_rss_kib(),
    }))


def multipart(endpoint, path, part_mib, threads):
    bucket = bucket_for(endpoint)
    size = os.path.getsize(path)
    part = part_mib * 1024 * 1024
    with tempfile.TemporaryDirectory() as checkpoints:
        store = oss2.ResumableStore(root=checkpoints)
        started = time.perf_counter()
        oss2.resumable_upload(bucket, "bench/multipart-oss2.bin", path, store=store,
                              multipart_threshold=part, part_size=part, num_threads=threads)
        seconds = time.perf_counter() - started
    print(json.dumps({
        "figure": "multipart", "mode": "oss2", "parallelism": threads, "bytes": size,
        "seconds": seconds, "mb_s": size / 1e6 / seconds, "rss_kib": peak_rss_kib(),
    }))


def main(argv):
    figure, args = argv[1], argv[2:]
    if figure == "sign":
        sign(int(args[0]), int(args[1]))
    elif figure == "crc":
        crc(args[0], int(args[1]))
    elif figure == "put":
        put(args[0], args[1])
    elif figure == "multipart":
        multipart(args[0], args[1], int(args[2]), int(args[3]))
    else:
        sys.exit("unknown figure " + figure)


if __name__ == "__main__":
    main(sys.argv)
