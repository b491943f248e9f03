"""Benchmarks; each prints a markdown table the README quotes."""
