"""The Textual app and the comentor command line."""
