"""The `openai` engine: each render is one edit on OpenAI's Images API (GPT Image models)."""
