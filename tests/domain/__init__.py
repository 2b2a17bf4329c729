"""Tests of the pure domain: one module per rule family."""
