"""`offswitch report`: the study's tables, plots, headline comparison and provenance."""
