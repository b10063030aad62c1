"""Entanglement plan tests (a package, so the shared lab session is package-scoped)."""
