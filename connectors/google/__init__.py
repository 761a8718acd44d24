"""The Google Calendar (and Gmail) connector."""
