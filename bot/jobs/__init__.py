"""The scheduler's jobs: the appraisal calendar run by the bot itself."""
