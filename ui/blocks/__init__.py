"""The Streamlit blocks of each page, one module per page key (views/<key>.py lays them out)."""
