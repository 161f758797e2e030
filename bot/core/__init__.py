"""What every layer above storage shares: settings, the text renderer, the clock, logging."""
