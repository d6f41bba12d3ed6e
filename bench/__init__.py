"""Benchmarks: one script per measure, each printing ratios against a baseline measured in the same run."""
