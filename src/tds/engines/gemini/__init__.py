"""The `gemini` engine: each render is one generateContent call to a Gemini image model on
Google's Gemini API (the google-genai SDK)."""
