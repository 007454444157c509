"""In-process state fed by LC_STATUS: observed service status and proxy usage."""
