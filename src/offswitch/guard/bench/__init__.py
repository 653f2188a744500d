"""Labelled trajectories and `offswitch guard bench`: precision, recall and FPR per action kind."""
