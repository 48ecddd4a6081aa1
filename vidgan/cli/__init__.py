"""Command-line interface: `vidgan <subcommand>`; each subcommand is a thin absl app."""
