"""The `interchange` command line: one entry point, subcommands grouped by user."""
