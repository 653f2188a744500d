"""Analysis: the results table, the study's metrics, the report and calibration."""
