"""The local SQLite store and the only place that holds SQL: the connection and its migrations
(store.py), one owner module per table, the store's failures told apart, and the private files
the agent writes."""
