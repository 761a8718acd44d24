"""The ICS connector: local .ics files (read-only input)."""
