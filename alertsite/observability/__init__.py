"""Operating alertsite (api.md §13): request ids, JSON logs with an access line a request, and /metrics."""
