"""The Sync page and its usage-source editor (issue #13)."""
