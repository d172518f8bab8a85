"""vidgate: self-hosted AI video generation on Runway's API."""
