"""Captions: word-timed transcripts of a clip (Gemini, the offline recogniser, an uploaded
subtitle file), burned into the render with libass, and exported as SRT/WebVTT."""
