"""The `diffusion` engine: Hugging Face diffusers pipelines on a GPU (the `gpu` extra).

Importing this package is cheap: torch and diffusers load only with `pipelines`, `engine.setup`
and `synthetic`.
"""
