"""Image intake: allowed formats round-trip, metadata and polyglot payloads are stripped, and every
bad input becomes InvalidImage or PayloadTooLarge with an actionable message."""

from __future__ import annotations

import base64
import random
import struct
import time
import zlib
from io import BytesIO

import numpy as np
import pytest
from PIL import ExifTags, Image, PngImagePlugin

from tds.exceptions import InvalidImage, PayloadTooLarge
from tds.images.intake import UNSUPPORTED_FORMAT, CleanImage, clean_image, decode_base64

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4_000_000


def clean(data: bytes, **kw: int) -> CleanImage:
    return clean_image(
        data, max_bytes=kw.get("max_bytes", MAX_BYTES), max_pixels=kw.get("max_pixels", MAX_PIXELS)
    )


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def gradient(size: tuple[int, int] = (64, 48)) -> Image.Image:
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=-1), "RGB")


def noise(size: tuple[int, int] = (256, 256), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade_png(width: int, height: int) -> bytes:
    """A few hundred bytes declaring width x height RGB pixels (IDAT holds a single row)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def assert_no_metadata(out: CleanImage) -> None:
    with Image.open(BytesIO(out.data)) as im:
        assert not im.getexif()
        assert "icc_profile" not in im.info
        assert "exif" not in im.info
        assert "comment" not in im.info
        if im.format == "PNG":
            assert not getattr(im, "text", {})
    for marker in (b"Exif", b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"ICC_PROFILE"):
        assert marker not in out.data


# ---- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("PNG", "image/png", "png"),
        ("JPEG", "image/jpeg", "jpg"),
        ("WEBP", "image/png", "png"),
    ],
)
def test_round_trip(fmt: str, content_type: str, extension: str) -> None:
    src = gradient((64, 48))
    out = clean(encode(src, fmt, **({"quality": 95} if fmt != "PNG" else {})))
    assert (out.content_type, out.extension) == (content_type, extension)
    assert (out.width, out.height) == (64, 48)
    assert out.image.mode == "RGB"
    assert out.image.size == (64, 48)
    assert out.image.info == {}
    with Image.open(BytesIO(out.data)) as back:
        assert back.format == ("JPEG" if extension == "jpg" else "PNG")
        assert back.size == (64, 48)
        back.load()
        diff = np.abs(np.asarray(back, dtype=int) - np.asarray(src, dtype=int))
        assert diff.mean() < 4
    assert_no_metadata(out)


def test_png_is_lossless() -> None:
    src = noise((40, 30))
    out = clean(encode(src, "PNG"))
    assert np.array_equal(np.asarray(out.image), np.asarray(src))
    with Image.open(BytesIO(out.data)) as back:
        assert np.array_equal(np.asarray(back), np.asarray(src))


def test_accepts_bytearray_and_memoryview() -> None:
    data = encode(gradient(), "PNG")
    assert clean(bytearray(data)).width == 64  # type: ignore[arg-type]
    assert clean(memoryview(data)).width == 64  # type: ignore[arg-type]


def test_exactly_ten_to_one_and_min_side_are_allowed() -> None:
    out = clean(encode(gradient((160, 16)), "PNG"))
    assert (out.width, out.height) == (160, 16)


def test_mpo_jpeg_with_extra_pictures_is_accepted_as_jpeg() -> None:
    frames = [gradient(), noise((64, 48))]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    out = clean(data)
    assert out.content_type == "image/jpeg"
    assert (out.width, out.height) == (64, 48)


# ---- sanitising -------------------------------------------------------------------------------


def test_exif_orientation_applied_and_gps_stripped() -> None:
    src = Image.new("RGB", (40, 20), (255, 0, 0))
    src.paste((0, 0, 255), (20, 0, 40, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored rotated: display = rotate 90° clockwise
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    data = encode(src, "JPEG", exif=exif.tobytes(), quality=95)
    with Image.open(BytesIO(data)) as check:
        assert check.getexif()[ExifTags.Base.Orientation] == 6
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)

    out = clean(data)
    assert (out.width, out.height) == (20, 40)
    top = out.image.getpixel((10, 5))
    bottom = out.image.getpixel((10, 35))
    assert (top[0] > 200, top[2] < 60) == (True, True)  # red on top
    assert (bottom[2] > 200, bottom[0] < 60) == (True, True)  # blue below
    assert b"SecretCam" not in out.data
    assert_no_metadata(out)


def test_png_text_chunk_and_trailing_script_are_gone() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert('text chunk')</script>")
    info.add_itxt("Author", "<script>alert('itxt')</script>")
    data = encode(gradient(), "PNG", pnginfo=info) + b"<script>alert('trailer')</script>"
    assert data.count(b"<script") == 3
    out = clean(data)
    assert b"<script" not in out.data
    assert out.data.endswith(png_chunk(b"IEND", b""))
    assert_no_metadata(out)


def test_jpeg_comment_and_icc_profile_are_stripped() -> None:
    data = encode(
        gradient(),
        "JPEG",
        comment=b"<script>alert(1)</script>",
        icc_profile=b"not-a-real-profile" * 10,
    )
    with Image.open(BytesIO(data)) as check:
        assert check.info["comment"] == b"<script>alert(1)</script>"
        assert "icc_profile" in check.info
    out = clean(data)
    assert b"<script" not in out.data
    assert b"not-a-real-profile" not in out.data
    assert_no_metadata(out)


def test_png_icc_profile_is_stripped() -> None:
    data = encode(gradient(), "PNG", icc_profile=b"not-a-real-profile" * 10)
    out = clean(data)
    assert_no_metadata(out)


def test_cmyk_jpeg_becomes_rgb_jpeg() -> None:
    data = encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG", quality=95)
    out = clean(data)
    assert out.content_type == "image/jpeg"
    assert out.image.mode == "RGB"
    r, g, b = out.image.getpixel((16, 16))
    assert (r > 200, g < 60, b < 60) == (True, True, True)
    with Image.open(BytesIO(out.data)) as back:
        assert back.mode == "RGB"


def test_16_bit_grayscale_png_is_scaled_not_clipped() -> None:
    arr = np.linspace(0, 65535, 32 * 32).astype(np.uint16).reshape(32, 32)
    src = Image.fromarray(arr)
    assert src.mode == "I;16"
    out = clean(encode(src, "PNG"))
    assert out.image.mode == "RGB"
    rgb = np.asarray(out.image)
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[-1, -1].tolist() == [255, 255, 255]
    assert 100 < rgb[16, 0, 0] < 156  # mid-grey, not saturated white


def test_palette_with_transparency_is_composited_on_white() -> None:
    src = Image.new("P", (32, 32), 1)
    src.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    src.paste(0, (0, 0, 16, 32))  # left half: index 0, transparent
    out = clean(encode(src, "PNG", transparency=0))
    assert out.image.getpixel((4, 4)) == (255, 255, 255)
    assert out.image.getpixel((28, 4)) == (255, 0, 0)


def test_la_and_rgba_are_composited_on_white() -> None:
    la = Image.new("LA", (32, 32), (0, 0))  # black, fully transparent
    la.paste((0, 255), (16, 0, 32, 32))  # right half black, opaque
    out = clean(encode(la, "PNG"))
    assert out.image.mode == "RGB"
    assert out.image.getpixel((4, 4)) == (255, 255, 255)
    assert out.image.getpixel((28, 4)) == (0, 0, 0)

    rgba = Image.new("RGBA", (32, 32), (0, 0, 255, 128))
    out = clean(encode(rgba, "WEBP", lossless=True))
    r, g, b = out.image.getpixel((4, 4))
    assert b == 255
    assert 120 < r < 135
    assert 120 < g < 135


@pytest.mark.parametrize("mode", ["L", "1", "RGBA", "P"])
def test_other_modes_become_rgb(mode: str) -> None:
    out = clean(encode(gradient().convert(mode), "PNG"))
    assert out.image.mode == "RGB"
    assert out.content_type == "image/png"


# ---- rejected ---------------------------------------------------------------------------------


def test_empty_is_invalid() -> None:
    with pytest.raises(InvalidImage, match="empty"):
        clean(b"")


def test_not_bytes_is_invalid() -> None:
    with pytest.raises(InvalidImage):
        clean("iVBORw0KGgo=")  # type: ignore[arg-type]


def test_over_max_bytes_is_payload_too_large() -> None:
    data = encode(noise((256, 256)), "PNG")
    with pytest.raises(PayloadTooLarge, match="MB limit") as info:
        clean(data, max_bytes=len(data) - 1)
    assert info.value.status == 413
    assert clean(data, max_bytes=len(data)).width == 256


def test_truncated_jpeg_is_invalid() -> None:
    data = encode(noise((256, 256)), "JPEG", quality=90)
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        clean(data[: len(data) // 2])


def test_truncated_png_is_invalid() -> None:
    data = encode(noise((256, 256)), "PNG")
    with pytest.raises(InvalidImage):
        clean(data[: len(data) // 2])


def test_pixel_bomb_is_refused_before_decoding() -> None:
    data = handmade_png(50_000, 50_000)
    assert len(data) < 2000
    start = time.perf_counter()
    with pytest.raises(InvalidImage) as info:
        clean(data, max_pixels=50_000_000)
    assert time.perf_counter() - start < 1.0
    assert "50000×50000" in info.value.message
    assert "50,000,000" in info.value.message


def test_pixels_between_limit_and_pillow_warning_are_refused() -> None:
    # Above Pillow's own warning threshold but under its hard error (1.5 × MAX_IMAGE_PIXELS).
    side = int((Image.MAX_IMAGE_PIXELS * 1.5) ** 0.5)
    start = time.perf_counter()
    with pytest.raises(InvalidImage, match=f"{side}×{side}"):
        clean(handmade_png(side, side), max_pixels=50_000_000)
    assert time.perf_counter() - start < 1.0


def test_over_max_pixels_is_invalid_with_dimensions() -> None:
    with pytest.raises(InvalidImage) as info:
        clean(encode(gradient((200, 100)), "PNG"), max_pixels=10_000)
    assert "200×100" in info.value.message
    assert "10,000" in info.value.message


@pytest.mark.parametrize(
    ("size", "match"),
    [
        ((1, 40_000), "at least 16"),
        ((10, 1000), "at least 16"),
        ((15, 15), "at least 16"),
        ((20, 300), "aspect ratio"),
        ((300, 20), "aspect ratio"),
        ((161, 16), "aspect ratio"),
    ],
)
def test_bad_geometry_is_invalid(size: tuple[int, int], match: str) -> None:
    data = encode(Image.new("L", size, 128), "PNG")
    with pytest.raises(InvalidImage, match=match) as info:
        clean(data)
    assert f"{size[0]}×{size[1]}" in info.value.message


def _gif() -> bytes:
    return encode(gradient().convert("P"), "GIF")


def _tiff() -> bytes:
    return encode(gradient(), "TIFF")


def _bmp() -> bytes:
    return encode(gradient(), "BMP")


@pytest.mark.parametrize(
    "make",
    [
        _gif,
        _tiff,
        _bmp,
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        lambda: b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n",
        lambda: b"SIMPLE  =                    T" + b" " * 2850,  # FITS header
        lambda: b"\x00" * 64,
    ],
    ids=["gif", "tiff", "bmp", "svg", "html", "eps", "fits", "zeros"],
)
def test_unsupported_formats_are_invalid(make: object) -> None:
    with pytest.raises(InvalidImage) as info:
        clean(make())  # type: ignore[operator]
    assert info.value.message == UNSUPPORTED_FORMAT
    assert info.value.status == 400
    assert info.value.code == "invalid_image"


def test_corrupt_file_with_png_signature_says_corrupt() -> None:
    with pytest.raises(InvalidImage, match="PNG file is corrupt"):
        clean(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_invalid(fmt: str) -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "green", "blue")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    with Image.open(BytesIO(data)) as check:
        assert check.n_frames == 3
    with pytest.raises(InvalidImage, match="Animated"):
        clean(data)


def test_mutated_files_never_leak_pillow_errors() -> None:
    rng = random.Random(1234)
    seeds = [
        encode(gradient((48, 32)), "PNG"),
        encode(gradient((48, 32)), "JPEG", quality=80),
        encode(gradient((48, 32)), "WEBP", quality=80),
    ]
    outcomes = {"ok": 0, "invalid": 0}
    messages: set[str] = set()
    for _ in range(150):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        try:
            clean(bytes(data))
            outcomes["ok"] += 1
        except (InvalidImage, PayloadTooLarge) as exc:
            messages.add(exc.message)
            outcomes["invalid"] += 1
    assert outcomes["invalid"] > 0
    assert all(messages)


# ---- base64 -----------------------------------------------------------------------------------


def test_decode_base64_plain_and_data_uri() -> None:
    data = encode(gradient(), "PNG")
    b64 = base64.b64encode(data).decode()
    assert decode_base64(b64, max_bytes=MAX_BYTES) == data
    assert decode_base64(f"data:image/png;base64,{b64}", max_bytes=MAX_BYTES) == data
    assert decode_base64(f"  DATA:image/png;BASE64,{b64}\n", max_bytes=MAX_BYTES) == data
    wrapped = "\r\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    assert decode_base64(wrapped, max_bytes=MAX_BYTES) == data
    assert decode_base64(b64.rstrip("="), max_bytes=MAX_BYTES) == data
    assert clean(decode_base64(b64, max_bytes=MAX_BYTES)).width == 64


@pytest.mark.parametrize(
    "value",
    [
        "not base64!!",
        "aGVsbG8=\x00",
        "aGVs-bG8_",  # URL-safe alphabet
        "aGVsbG8=aGVsbG8=",  # padding in the middle
        "é" * 8,
        "a",
        "data:image/png,aGVsbG8=",  # not ;base64
        "data:image/png;base64",  # no comma
        "",
        "   \n",
        "data:image/png;base64,",
    ],
)
def test_decode_base64_rejects_bad_input(value: str) -> None:
    with pytest.raises(InvalidImage) as info:
        decode_base64(value, max_bytes=MAX_BYTES)
    assert info.value.extra["param"] == "image_base64"
    assert "image_base64" in info.value.message


def test_decode_base64_too_long_is_refused_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decode(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("b64decode must not run for oversized input")

    monkeypatch.setattr(base64, "b64decode", no_decode)
    limit = 1024 * 1024
    exact = "A" * (limit * 4 // 3)  # decodes to exactly 1 MiB: allowed by the estimate
    with pytest.raises(AssertionError):
        decode_base64(exact, max_bytes=limit)
    for value in ("A" * (limit * 4 // 3 + 4), "data:image/png;base64," + "A" * (limit * 2)):
        with pytest.raises(PayloadTooLarge, match="1 MB limit") as info:
            decode_base64(value, max_bytes=limit)
        assert info.value.status == 413
    huge = "A" * (64 * limit)
    start = time.perf_counter()
    with pytest.raises(PayloadTooLarge):
        decode_base64(huge, max_bytes=limit)
    assert time.perf_counter() - start < 0.1  # refused from the length alone, no copy
