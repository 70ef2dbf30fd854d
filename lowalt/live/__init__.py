"""The live path: ingest -> track tables -> tick (conflicts, intrusion, conformance) -> feed + history."""
