"""kaohe: the Telegram bot that runs a township office's routine performance appraisal."""

import os

# python-telegram-bot 22 warns on every RetryAfter (a 429 from Telegram) unless the caller opts in
# to timedelta durations; the bot opts in before telegram is imported anywhere.
os.environ.setdefault("PTB_TIMEDELTA", "1")
