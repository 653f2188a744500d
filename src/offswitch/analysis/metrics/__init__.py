"""The study's metrics per model, each rate with n and an interval, each difference tested."""
