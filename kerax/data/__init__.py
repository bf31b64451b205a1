"""Data handling: in-memory arrays for fit/evaluate/predict."""
