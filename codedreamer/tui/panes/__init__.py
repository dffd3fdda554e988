"""The panes of the main screen, one widget a module."""
