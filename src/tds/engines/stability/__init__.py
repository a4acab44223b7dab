"""The `stability` engine: Stability AI's hosted Stable Image API (v2beta) over plain HTTPS.

`config` (TDS_STABILITY_* settings), `frames` (the image each endpoint is sent, within its
documented limits), `client` (one multipart POST, its retry policy and error mapping), `engine`.
"""
