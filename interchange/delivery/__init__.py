"""Delivery: recipients, their statuses and work records, an agency's send and inbox."""
