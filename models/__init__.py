"""Trained artifacts (Dutch UD pipeline, theme classifiers) and the code that builds them."""
