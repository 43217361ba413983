"""Persistence: models, connections, transactions and queries. No HTTP in here."""
