"""qnetlab layer: drivers."""
