"""The Telegram edge: access, the update processor, persistence, keyboards, and one module per
capability (sign-up, self-score, rating, ballot, office records, results)."""
