"""The workload: what agencies send, when, with which faults, and the producer."""
