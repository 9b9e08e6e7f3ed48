"""Work records: how a delivered document is handled, and the funnel statuses show."""
