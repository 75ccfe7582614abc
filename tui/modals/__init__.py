"""The app's modal screens: the one form, yes/no questions, picking from a short list, and
an item's whole text. Each carries its own DEFAULT_CSS."""
