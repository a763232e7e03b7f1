"""Report formats: what a user, a CI log, GitHub code scanning and a JSON consumer see."""
