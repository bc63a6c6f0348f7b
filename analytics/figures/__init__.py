"""Plotly and pydeck figures built from the frames of `analytics`; labels come in from the caller."""
