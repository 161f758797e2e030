"""Test harness: a fake Telegram Bot API at the HTTP edge and a user simulator."""
