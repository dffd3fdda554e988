"""Screens pushed over the main screen: a whole dream, the filter prompt."""
