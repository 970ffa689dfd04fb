"""Records of the registry (datasets, models, versions, aliases) arrive with issue 5."""
