"""The Usage page: a grid of mapped accounts × services to stage set/add/subtract edits, push
them with progress, and look at each cell's history (see page.py)."""
