"""Deleting a creator's account and everything in it: service.py (the steps), jobs.py (the
resumable RQ job), routes.py (the "deletion" blueprint: /account/delete and its progress)."""

from truss.deletion.routes import bp

__all__ = ["bp"]
