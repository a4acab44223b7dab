"""Image intake: decode an upload (raw bytes or base64), validate it, and re-encode it clean.

`tds.images.intake.clean_image` is the one gate every user image passes before it is stored or
given to an engine: PNG, JPEG and WebP only, size and pixel limits checked before decoding,
EXIF orientation applied, converted to RGB, re-encoded without any metadata or trailing bytes.
"""
