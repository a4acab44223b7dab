"""What more than one engine uses: prompts, control images, images, media encoding, settings.

Engines import from here, never from one another.
"""
