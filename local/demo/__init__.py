"""Demo data and developer conveniences: the seed catalog, ``events/`` samples, the sam-local env file."""
