"""Tests of kaohe: they drive the real Application against a fake Telegram (see tests/harness)."""
