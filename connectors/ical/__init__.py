"""iCalendar text: reading occurrences out of it, and writing the agent's own events."""
