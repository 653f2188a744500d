"""The guard as a proxy in front of an agent harness's model API."""
