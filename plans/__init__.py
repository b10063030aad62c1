"""qnetlab layer: plans."""
