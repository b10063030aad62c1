"""qnetlab layer: analysis."""
