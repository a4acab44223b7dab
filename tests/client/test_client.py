"""tds.client against real servers on loopback: every method, every error class, retries."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

import tds
import tds.client
from tds.client import (
    Client,
    IdempotencyConflict,
    InsufficientCredits,
    InternalError,
    InvalidApiKey,
    InvalidImage,
    InvalidRequest,
    ModelFailed,
    ModelUnavailable,
    NotFound,
    PayloadTooLarge,
    PlanLimit,
    RateLimited,
    Render,
    RenderFinished,
    RenderTimeout,
    TdsConnectionError,
    TdsError,
    load_config,
    save_config,
)
from tds.client._errors import from_response
from tds.models import Render as RenderRow
from tests.client.conftest import MakeServer
from tests.client.helpers import (
    DropProxy,
    Scripted,
    StubServer,
    closed_port,
    error,
)
from tests.support.accounts import Account
from tests.support.db import reading
from tests.support.engines import FailingEngine, GateEngine, ResizeEngine
from tests.support.images import FIXTURES, png_bytes
from tests.support.servers import LiveServer

CLIENT_DIR = Path(tds.client.__file__).parent
Connect = Callable[..., Client]

RENDER_BODY = {
    "render": {"id": "rnd_stub", "status": "done", "kind": "render", "cost": 5},
    "credits": 95,
}


def render_count(live: LiveServer, account: Account) -> int:
    with reading(live.runtime.db) as session:
        return session.query(RenderRow).filter(RenderRow.account_id == account.id).count()


def client_for(live: LiveServer, account: Account, **options: object) -> Client:
    return Client(account.key, base_url=live.url, **options)  # type: ignore[arg-type]


# -- standing alone ---------------------------------------------------------------------------

_ONLY_STDLIB = """
import sys
sys.path.insert(0, sys.argv[1])
import {module} as client
client.Client(api_key="tds_live_x", base_url="http://127.0.0.1:9")
outside = sorted(
    name for name in sys.modules
    if name.split(".")[0] not in sys.stdlib_module_names
    and name.split(".")[0] not in ("{top}", "__main__")
)
print(",".join(outside))
"""


def test_imports_nothing_outside_the_standard_library(tmp_path: Path) -> None:
    src = str(CLIENT_DIR.parents[1])
    copy = tmp_path / "tdsclient"  # the folder alone, as a Rhino or pyRevit script ships it
    shutil.copytree(CLIENT_DIR, copy)
    for module, top, path in (("tds.client", "tds", src), ("tdsclient", "tdsclient", tmp_path)):
        script = _ONLY_STDLIB.format(module=module, top=top)
        # -I -S: no site-packages, no user site, no PYTHON* variables: a bare interpreter.
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", script, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "", f"{module} imported {done.stdout}"


def _python39() -> str | None:
    """A working Python 3.9 (pyenv's, or one on PATH; pyenv's shims may not run)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob("3.9*/bin/python3.9")) if pyenv.is_dir() else []
    for candidate in [*map(str, candidates), shutil.which("python3.9")]:
        if candidate is None:
            continue
        check = [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"]
        if subprocess.run(check, capture_output=True, timeout=30).returncode == 0:
            return candidate
    return None


_ON_39 = """
import sys
sys.path.insert(0, sys.argv[1])
import tdsclient
client = tdsclient.Client(api_key=sys.argv[2], base_url=sys.argv[3], source="rhino")
render = client.render(sys.argv[4], resolution="1k", on_progress=lambda r: None)
path = client.download(render, sys.argv[5])
print(sys.version_info[:2], client.me().credits, render.status, render.raw["source"])
print(path.stat().st_size > 0)
"""


def test_runs_on_python_3_9_as_in_rhino_8(live: LiveServer, tmp_path: Path) -> None:
    python = _python39()
    if python is None:
        if os.environ.get("CI"):  # CI's machines have pyenv's 3.9: never pass by skipping
            pytest.fail("no Python 3.9 on this CI machine")
        pytest.skip("no Python 3.9 on this machine")
    account = live.account(credits=20)
    shutil.copytree(CLIENT_DIR, tmp_path / "tdsclient")
    args = [str(tmp_path), account.key, live.url, str(FIXTURES / "house.png"), str(tmp_path)]
    done = subprocess.run(
        [python, "-I", "-S", "-c", _ON_39, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(3,", "9)", "15", "done", "rhino", "True"]


def test_version_matches_the_package() -> None:
    assert tds.client.__version__ == tds.__version__


# -- configuration ----------------------------------------------------------------------------


def test_key_and_url_come_from_argument_then_environment_then_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Path(os.environ["TDS_CONFIG"])
    assert load_config() == {}
    assert Client().api_key is None
    assert Client().base_url == "http://localhost:8000"

    config.write_text("{}")
    config.chmod(0o644)  # an old file with a loose mode is replaced, not reused
    assert save_config("tds_live_stored", "http://stored:1/") == config
    assert config.stat().st_mode & 0o777 == 0o600
    assert load_config() == {"api_key": "tds_live_stored", "base_url": "http://stored:1/"}
    assert (Client().api_key, Client().base_url) == ("tds_live_stored", "http://stored:1")

    monkeypatch.setenv("TDS_API_KEY", "tds_live_env")
    monkeypatch.setenv("TDS_BASE_URL", "http://env:2")
    assert (Client().api_key, Client().base_url) == ("tds_live_env", "http://env:2")
    explicit = Client("tds_live_arg", base_url="https://arg:3")
    assert (explicit.api_key, explicit.base_url) == ("tds_live_arg", "https://arg:3")
    assert "tds_live_arg" not in repr(explicit)

    config.write_text("not json")
    monkeypatch.delenv("TDS_API_KEY")
    with pytest.raises(TdsError) as broken:
        Client()
    assert broken.value.code == "invalid_config"
    with pytest.raises(ValueError, match="http"):
        Client("k", base_url="localhost:8000")


def test_no_key_is_invalid_api_key_before_any_request() -> None:
    with pytest.raises(InvalidApiKey) as missing:
        Client(base_url=f"http://127.0.0.1:{closed_port()}").me()
    assert missing.value.status == 401  # what the server would say
    assert "tds login" in missing.value.message


# -- every method -----------------------------------------------------------------------------


def test_every_method_against_a_real_server(live: LiveServer, tmp_path: Path) -> None:
    account = live.account(credits=100, plan="pro")
    client = client_for(live, account)

    me = client.me()
    assert (me.id, me.email, me.credits, me.credits_held) == (account.id, account.email, 100, 0)
    assert (me.plan.id, me.plan.max_in_flight) == ("pro", 4)

    styles = client.styles()
    assert styles.cost("render", "1k") == 5
    assert {k.id: k.available for k in styles.kinds}["staging"] is False
    assert "Golden Hour" in [o.name for o in styles.lighting]
    assert [r.long_edge for r in styles.resolutions] == [1024, 2048, 4096]

    house = FIXTURES / "house.png"
    uploads = [
        client.upload(house),
        client.upload(str(house)),
        client.upload(house.read_bytes()),
        client.upload(io.BytesIO(house.read_bytes())),
    ]
    assert {(u.width, u.height, u.content_type) for u in uploads} == {(512, 512, "image/png")}
    assert all(u.url.startswith(live.url + "/files/uploads/") for u in uploads)

    seen: list[Render] = []
    first = client.render(
        house,
        resolution="1k",
        architectural_style="modern",
        lighting="Golden Hour",
        prompt="warm light",
        seed=7,
        on_progress=seen.append,
    )
    assert (first.status, first.kind, first.cost, first.credits_used) == ("done", "render", 5, 5)
    assert (first.width, first.height, first.seed, first.balance) == (1024, 1024, 7, 95)
    assert first.raw["architectural_style"] == "Modern"
    assert first.raw["source"] == "sdk"
    assert seen[-1].status == "done"
    saved = client.download(first, tmp_path / "out" / "first.jpg")
    with Image.open(saved) as image:
        assert (image.format, image.size) == ("JPEG", (1024, 1024))
    assert client.download(first, tmp_path).parent == tmp_path  # a folder: named after the URL

    from_url = client.render(image_url=uploads[0].url, resolution="1k")
    from_bytes = client.render(png_bytes(), resolution="1k", scene_type="interior")
    refined = client.render(first, kind="refine", prompt="more trees", resolution="1k")
    assert refined.parent_id == first.id
    assert (refined.kind, refined.credits_used) == ("refine", 3)

    again = client.get_render(first.id)
    assert again.id == first.id
    assert again.output_image_url == first.output_image_url
    assert client.get_render(again) == again

    page = client.list_renders(limit=2)
    assert [r.id for r in page] == [refined.id, from_bytes.id]
    assert page.has_more
    rest = client.list_renders(limit=10, starting_after=page[-1].id)
    assert [r.id for r in rest] == [from_url.id, first.id]
    assert not rest.has_more
    assert [r.id for r in client.iter_renders(page_size=3)] == [
        refined.id,
        from_bytes.id,
        from_url.id,
        first.id,
    ]
    assert live.assert_books_balanced(account).credits == 100 - 5 * 3 - 3


def test_submit_poll_progress_timeout_and_cancel(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=100, plan="pro")  # renders 4 at once
    client = client_for(live, account)

    queued = client.render(png_bytes(), resolution="1k", wait=False)
    assert queued.status in ("queued", "processing")
    assert queued.balance == 95
    assert engine.started.acquire(timeout=10)
    with pytest.raises(RenderTimeout) as late:
        client.wait(queued, timeout=0.2)
    assert late.value.render.id == queued.id
    assert late.value.render.status == "processing"
    assert client.me().credits_held == 5

    canceled = client.cancel(queued)
    assert (canceled.status, canceled.credits_used, canceled.balance) == ("canceled", 0, 100)
    assert client.wait(queued.id).status == "canceled"  # returned, not raised
    with pytest.raises(RenderFinished) as finished:
        client.cancel(queued.id)
    assert (finished.value.status, finished.value.code) == (409, "render_finished")

    with pytest.raises(RenderTimeout):
        client.render(png_bytes(), resolution="1k", timeout=0.3)
    assert engine.started.acquire(timeout=10)

    seen: list[Render] = []
    result: list[Render] = []
    thread = threading.Thread(
        target=lambda: result.append(client.render(png_bytes(), on_progress=seen.append))
    )
    thread.start()
    assert engine.started.acquire(timeout=10)
    for _ in range(500):  # bounded: progress is reported while the engine works
        if any(r.progress and r.progress.value > 0 for r in seen):
            break
        time.sleep(0.02)
    engine.gate.set()
    thread.join(30)
    assert result[0].status == "done"
    assert seen[0].status in ("queued", "processing")
    assert seen[-1] == result[0]
    assert any(r.status == "processing" and r.progress and r.progress.value > 0 for r in seen)
    # The render that timed out above went on and finished: 5 + 10 credits spent.
    assert live.assert_books_balanced(account).credits == 85


# -- errors -----------------------------------------------------------------------------------


def test_error_classes_for_401_402_400_403_404_409(live: LiveServer) -> None:
    account = live.account(credits=4)
    client = client_for(live, account)

    with pytest.raises(InvalidApiKey) as bad_key:
        Client("tds_live_" + "x" * 38, base_url=live.url).me()
    assert (bad_key.value.status, bad_key.value.code) == (401, "invalid_api_key")

    with pytest.raises(InsufficientCredits) as poor:
        client.render(png_bytes(), resolution="1k")
    assert (poor.value.status, poor.value.code) == (402, "insufficient_credits")
    assert "4 available" in poor.value.message
    assert "insufficient_credits (402)" in str(poor.value)

    with pytest.raises(InvalidRequest) as bad_option:
        client.render(png_bytes(), scene_type="moon base")
    assert (bad_option.value.status, bad_option.value.param) == (400, "scene_type")
    assert type(bad_option.value) is InvalidRequest

    with pytest.raises(InvalidImage) as not_image:
        client.upload(b"this is not an image at all")
    assert isinstance(not_image.value, InvalidRequest)
    assert (not_image.value.status, not_image.value.code) == (400, "invalid_image")

    with pytest.raises(PlanLimit) as plan:
        client.render(png_bytes(), resolution="4k")
    assert plan.value.status == 403

    with pytest.raises(NotFound) as missing:
        client.get_render("rnd_doesnotexist")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(NotFound):
        client.cancel("rnd_doesnotexist")

    rich = live.account(credits=100)
    client = client_for(live, rich)
    client.render(png_bytes(), resolution="1k", idempotency_key="one-key")
    with pytest.raises(IdempotencyConflict) as conflict:
        client.render(png_bytes(), resolution="2k", idempotency_key="one-key")
    assert conflict.value.status == 409
    assert live.assert_books_balanced(account).credits == 4
    assert live.assert_books_balanced(rich).credits == 95


def test_failed_render_raises_model_failed_and_refunds(make_server: MakeServer) -> None:
    live = make_server(FailingEngine())
    account = live.account(credits=100)
    client = client_for(live, account)
    with pytest.raises(ModelFailed) as blocking:
        client.render(png_bytes(), resolution="1k")
    assert (blocking.value.status, blocking.value.code) == (502, "model_failed")
    assert "out of GPU memory" in blocking.value.message
    failed = client.get_render(blocking.value.render_id or "")
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "model_failed"

    # Without waiting, the answer is the render as it is now: usually queued (then wait()
    # raises), or already failed when the engine failed first (then render() raises).
    def submit_then_wait() -> None:
        client.wait(client.render(png_bytes(), resolution="1k", wait=False))

    with pytest.raises(ModelFailed) as polled:
        submit_then_wait()
    assert polled.value.render_id
    if polled.value.render is not None:  # wait() raised: it carries the render it polled
        assert polled.value.render.status == "failed"
    assert client.get_render(polled.value.render_id).status == "failed"
    assert live.assert_books_balanced(account).credits == 100


def test_unknown_codes_map_by_status() -> None:
    assert type(from_response(405, error("method_not_allowed"))) is InvalidRequest
    assert from_response(405, error("method_not_allowed")).code == "method_not_allowed"
    assert type(from_response(504, {})) is InternalError
    assert type(from_response(418, error("teapot"))) is TdsError
    limited = from_response(429, error("rate_limited"), {"Retry-After": "3"})
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 3.0
    assert isinstance(from_response(503, error("model_unavailable")), ModelUnavailable)


# -- retries ----------------------------------------------------------------------------------


def test_a_dropped_render_answer_is_retried_and_charged_once(
    live: LiveServer, connect: Connect
) -> None:
    """The connection drops after the server rendered and charged: the SDK sends the same
    request with the same Idempotency-Key, the server replays its answer, nothing runs twice."""
    account = live.account(credits=100)
    host, port = live.url.removeprefix("http://").split(":")
    with DropProxy((host, int(port))) as proxy:
        client = connect(proxy.url, account.key)
        render = client.render(png_bytes(), resolution="1k", seed=3)

    posts = proxy.requests("POST /api/v1/renders ")
    assert [p.dropped for p in posts] == [True, False]
    assert posts[0].answer_head.startswith(b"HTTP/1.1 200")  # the server had answered
    assert posts[0].idempotency_key
    assert posts[0].idempotency_key == posts[1].idempotency_key
    assert b"idempotent-replayed: true" in posts[1].answer_head.lower()
    assert (render.status, render.credits_used) == ("done", 5)
    assert render_count(live, account) == 1
    assert [r.id for r in client_for(live, account).list_renders()] == [render.id]
    books = live.assert_books_balanced(account)
    assert books.credits == 100 - 5


def test_a_drop_while_the_render_runs_waits_on_the_same_render(
    make_server: MakeServer, connect: Connect
) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=100)
    host, port = live.url.removeprefix("http://").split(":")
    dropped = threading.Event()
    result: list[Render] = []
    with DropProxy((host, int(port)), trigger=dropped) as proxy:
        client = connect(proxy.url, account.key)
        thread = threading.Thread(target=lambda: result.append(client.render(png_bytes())))
        thread.start()
        assert engine.started.acquire(timeout=10)  # accepted, charged, running
        dropped.set()
        for _ in range(500):  # bounded: the retry reaches the server
            if len(proxy.requests("POST /api/v1/renders ")) == 2:
                break
            time.sleep(0.02)
        engine.gate.set()
        thread.join(30)
    first, retry = proxy.requests("POST /api/v1/renders ")
    assert (first.dropped, retry.dropped) == (True, False)
    assert first.idempotency_key == retry.idempotency_key
    assert result[0].status == "done"
    assert render_count(live, account) == 1
    assert engine.started.acquire(timeout=0) is False  # the engine ran once
    assert live.assert_books_balanced(account).credits == 90


def test_a_dropped_read_is_retried(live: LiveServer, connect: Connect) -> None:
    account = live.account(credits=7)
    host, port = live.url.removeprefix("http://").split(":")
    with DropProxy((host, int(port)), drop="GET /api/v1/me ", times=2) as proxy:
        assert connect(proxy.url, account.key).me().credits == 7
        proxy.times = 5
        with pytest.raises(TdsConnectionError):
            connect(proxy.url, account.key, max_attempts=2).me()
    dropped = [s.dropped for s in proxy.requests("GET /api/v1/me ")]
    assert dropped == [True, True, False, True, True]


def test_retry_policy_on_5xx_and_429() -> None:
    with StubServer(
        Scripted(503, error("model_unavailable"), {"Retry-After": "7"}),
        Scripted(429, error("rate_limited"), {"Retry-After": "120"}),
        Scripted(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"}),
        Scripted(500, error("internal_error")),
        Scripted(200, RENDER_BODY),
    ) as stub:
        client = Client("tds_live_k", base_url=stub.url, max_attempts=5, max_retry_after=30)
        sleeps: list[float] = []
        client._transport.sleep = sleeps.append
        render = client.render(b"\x89PNG fake", resolution="1k")
    assert render.id == "rnd_stub"
    assert sleeps[:2] == [7.0, 30.0]  # Retry-After, capped
    assert len(sleeps) == 4
    assert all(0 < s <= 8 for s in sleeps[2:])
    keys = {headers["Idempotency-Key"] for _, _, headers, _ in stub.requests}
    assert len(stub.requests) == 5
    assert len(keys) == 1  # one logical call, one key

    with StubServer(
        Scripted(502, error("model_failed", "The model failed.", render_id="rnd_f")),
        Scripted(200, RENDER_BODY),
    ) as stub:
        with pytest.raises(ModelFailed) as failed:
            Client("tds_live_k", base_url=stub.url).render(b"x")
        assert failed.value.render_id == "rnd_f"
        assert len(stub.requests) == 1  # a final answer: never retried

    with StubServer(*[Scripted(500, error("internal_error"))] * 3) as stub:
        client = Client("tds_live_k", base_url=stub.url, max_attempts=3, backoff=0.001)
        with pytest.raises(InternalError):
            client.me()
        assert len(stub.requests) == 3

    with StubServer(Scripted(400, error("invalid_request"))) as stub:
        with pytest.raises(InvalidRequest):
            Client("tds_live_k", base_url=stub.url).styles()
        assert len(stub.requests) == 1


def test_an_unreachable_server_is_a_connection_error(connect: Connect) -> None:
    client = connect(f"http://127.0.0.1:{closed_port()}", "tds_live_k", max_attempts=3)
    with pytest.raises(TdsConnectionError) as refused:
        client.me()
    assert refused.value.status is None
    assert "after 3 attempts" in refused.value.message


def test_local_argument_errors() -> None:
    client = Client("tds_live_k", base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="exactly one"):
        client.render()
    with pytest.raises(ValueError, match="exactly one"):
        client.render(b"x", image_url="https://example.com/a.png")
    with pytest.raises(FileNotFoundError):
        client.render("no/such/file.png")
    with pytest.raises(TypeError):
        client.render(42)  # type: ignore[arg-type]


def test_an_oversized_image_says_it_is_too_large(make_server: MakeServer) -> None:
    """The server refuses the body by its Content-Length while the client is still sending:
    the client sees the 413, or a reset that it explains."""
    live = make_server(ResizeEngine(), max_upload_bytes=200_000)
    account = live.account(credits=100)
    client = client_for(live, account, max_attempts=1)
    with pytest.raises((PayloadTooLarge, TdsConnectionError)) as refused:
        client.render(b"\x89PNG" + bytes(8_000_000), resolution="1k")
    assert "too large" in refused.value.message or "larger than" in refused.value.message
    assert render_count(live, account) == 0
