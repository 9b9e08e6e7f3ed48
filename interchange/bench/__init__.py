"""The load test: ceilings, the naive reference and the rate search."""
