"""The Streamlit side: session context, cached queries, the global filter bar, first-run setup.

`analytics/` holds everything that does not need Streamlit; this package is the thin edge
that pages share.
"""
