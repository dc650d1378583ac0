"""The api layer: Runtime and the per-container supervisor."""
