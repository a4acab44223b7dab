"""Past one machine: the API and its worker share only PostgreSQL, Redis and an S3 bucket
(SeaweedFS on loopback), each with a data folder of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.distributed.conftest import Cluster
from tests.distributed.test_celery_renders import BODY
from tests.storage.conftest import REGION, S3Server, bucket, s3  # noqa: F401 (fixtures)
from tests.support.engines import SleepEngine
from tests.support.images import open_image
from tests.support.servers import LiveServer


def test_api_and_worker_share_nothing_but_database_broker_and_bucket(
    cluster: Cluster,
    make_server: Callable[..., LiveServer],
    s3: S3Server,  # noqa: F811
    bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    storage = {"s3_bucket": bucket, "s3_endpoint_url": s3.endpoint_url, "s3_region": REGION}
    worker_dir, api_dir = tmp_path / "worker-data", tmp_path / "api-data"
    cluster.start_worker(
        TDS_DATA_DIR=str(worker_dir),
        TDS_STORAGE="s3",
        **{f"TDS_{name.upper()}": value for name, value in storage.items()},
    )
    server = make_server(
        SleepEngine(), **cluster.settings(data_dir=api_dir, storage="s3", **storage)
    )
    account = server.account(credits=100)
    with server.client(account) as client:
        response = client.post("/api/v1/renders", json=BODY)
    assert response.status_code == 200, response.text
    render = response.json()["render"]
    assert render["status"] == "done"
    assert render["output_image_url"].startswith(f"{s3.endpoint_url}/{bucket}/renders/")
    output = httpx.get(render["output_image_url"])  # presigned: straight from the bucket
    assert output.status_code == 200
    assert open_image(output.content).size == (render["width"], render["height"])
    for folder in (worker_dir, api_dir):  # every file went to the bucket
        assert not [path for path in folder.rglob("*") if path.suffix in (".png", ".jpg")]
    assert cluster.books(account.id).balanced
