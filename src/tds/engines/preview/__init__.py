"""The `preview` engine: a deterministic CPU image pipeline (OpenCV + NumPy), no model weights."""
