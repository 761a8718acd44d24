"""Planning touchbases: candidates, slots, the series run, read-back of declines, the report."""
