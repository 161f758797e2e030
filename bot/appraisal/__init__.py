"""Services on the database: the calendar of periods, scoring runs, recompute.

No Telegram: the CLI, the chat and the scheduler call the same functions with an explicit clock."""
