"""The `comfyui` engine: a studio's own ComfyUI servers running its own workflows.

`config` (TDS_COMFYUI_* settings), `workflows` (the workflow files, their `tds:` bindings and
the start-up checks), `client` (ComfyUI's HTTP routes on one server), `events` (its websocket,
one per server for the whole process), `engine`.
"""
