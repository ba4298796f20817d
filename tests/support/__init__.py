"""Helpers shared by the tests and the bench: fakes, media makers, the app and AWS set-ups."""
