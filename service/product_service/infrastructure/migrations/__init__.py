"""Alembic migrations; run them with `product-service db upgrade`."""
