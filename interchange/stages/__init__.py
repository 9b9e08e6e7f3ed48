"""The axis's stage processes: the same command lines docker-compose runs."""
