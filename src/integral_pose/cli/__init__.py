"""Command-line interface (`ipr`)."""
