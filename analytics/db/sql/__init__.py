"""The SQL of each page, one module per page key; `analytics.db.queries` gathers them by name."""
