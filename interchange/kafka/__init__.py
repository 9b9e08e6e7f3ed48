"""The Kafka seam: client factories, the typed protocols and fakes, topics, the broker."""
