"""The Docker Compose platform: host-side start-up helpers (standard library only) and static checks."""
