"""Small shared helpers: progress bars, devices, seeds, JSON output."""
