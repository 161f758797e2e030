"""Pure appraisal rules: scoring, the scheme, typed-input parsing, roster and target row rules.

No Telegram, no database, no clock, no I/O: everything else feeds these functions and stores
what they return, so every figure can be recomputed from its inputs."""
