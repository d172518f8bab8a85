"""The database: ``engine`` (SQLite or PostgreSQL by URL, transactions, the write lock) and
``base`` (the declarative Base, UTC datetimes, ids). The one package that knows one backend from
the other; the tables themselves live with their concepts (jobs, tenancy, webhooks, provider).
"""
