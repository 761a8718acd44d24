"""The background service: the loop, its jobs, the store lock, systemd notify and the unit."""
