"""What the leadership reads and the office files: summaries, charts and sheets."""
