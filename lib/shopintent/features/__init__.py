"""Features computed from the canonical tables: text encoders, session and user features."""
