"""lcd: the /api/v1 control plane."""
