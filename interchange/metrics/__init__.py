"""Run metrics: latency histograms, counters, coverage and the policy targets."""
