"""Benchmarks: one script per measure, each printing ratios against a baseline from the same run."""
