"""An in-memory Telegram Bot API.

The tests, the sandbox and the demo run the real bot against it.
"""
