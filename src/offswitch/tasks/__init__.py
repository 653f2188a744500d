"""The Inspect layer: tasks whose samples are configurations, the episode solver and the scorer.

It puts the layers below together: scenarios render each sample's world and texts, the
solver plays the episode, the scorer runs the detectors and the judge and folds in the
guard's record.
"""
