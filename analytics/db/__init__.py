"""The database: one connection per file, named and scoped queries, the marts."""
