"""Service layer: use cases that own their transaction and keep in-memory indexes in step with it."""
