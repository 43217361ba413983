"""Pure decisions on plain values: no HTTP, no database."""
