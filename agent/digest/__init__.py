"""The morning email and its sections."""
