"""The project owns no models; its apps (routing, board, ...) do.

This module is here because Django sends ``post_migrate`` only to apps with a
models module, and the project's receivers (the role groups and every app's
schedules, in ``apps.py``) must run after each migrate.
"""
