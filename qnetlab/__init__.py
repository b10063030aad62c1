"""qnetlab layer: qnetlab."""
