"""Crash drills: break the tree on purpose, see it come back, and count that nothing was lost."""
