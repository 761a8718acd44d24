"""The local SQLite store, its failures told apart, and the private files the agent writes."""
