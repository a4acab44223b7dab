"""A real S3-compatible server on loopback for the session: moto in server mode.

No S3-compatible server (MinIO, SeaweedFS, Garage) installs from PyPI or Debian here, so the
S3 backend is tested against moto's HTTP server: real requests over a real socket, the same
wire protocol boto3 speaks to AWS. Moto does not check signatures or expiry of presigned URLs
(it does refuse unsigned reads of private objects); those refusals are the real service's.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"


@dataclass
class S3Server:
    endpoint_url: str

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=REGION
        )

    def new_bucket(self) -> str:
        """A fresh, private bucket (created as a deployment would, outside tds)."""
        name = f"tds-{secrets.token_hex(6)}"
        client = self.client()
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.close()
        return name


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as env:
        # boto3's standard chain finds these, in the server under test too. Moto accepts any
        # key; no config file or instance metadata service is ever consulted.
        env.setenv("AWS_ACCESS_KEY_ID", "tds-test-key")
        env.setenv("AWS_SECRET_ACCESS_KEY", "tds-test-secret")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        env.delenv("AWS_PROFILE", raising=False)
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield S3Server(f"http://{host}:{port}")
        finally:
            server.stop()


@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.new_bucket()
