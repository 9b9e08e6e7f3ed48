"""The router: the decision on each submission, its replay window and its stage."""
