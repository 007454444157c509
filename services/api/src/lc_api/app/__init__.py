"""Command handlers: load the aggregate → decide → append with the expected sequence."""
