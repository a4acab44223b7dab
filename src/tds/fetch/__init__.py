"""Server-side fetching of user-supplied `image_url`s, guarded against SSRF.

`tds.fetch.fetcher.ImageFetcher` downloads the image; `tds.fetch.ssrf` holds the address policy
(`is_public_address`) and the httpcore network backend that enforces it on every connection.
"""
