"""Alembic revision scripts (``NNNN_name.py``), applied in order."""
