"""qnetlab layer: instruments."""
