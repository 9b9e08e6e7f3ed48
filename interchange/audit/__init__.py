"""The audit: re-verify and cross-check topics or a sealed archive, and conformance."""
