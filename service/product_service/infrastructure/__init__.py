"""Adapters: SQLAlchemy persistence, Alembic migrations, Dapr, telemetry, settings."""
