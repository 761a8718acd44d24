"""The configuration: the declarative schema, loading and checking a file, the generated examples."""
