"""One simulation of the whole axis: stages, supervision and accounting."""
