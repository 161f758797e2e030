"""kaohe: the Telegram bot that runs a township office's routine performance appraisal."""
