"""qnetlab layer: sim_backends."""
