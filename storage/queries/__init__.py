"""Query functions grouped by subject; each is keyword-only and takes the session."""
