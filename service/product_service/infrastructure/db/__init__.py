"""SQLAlchemy 2.x persistence for MySQL 8 / MariaDB 10.6+ and SQLite."""
