"""The wire format: the domain records, their Avro schemas and the strict codec."""
