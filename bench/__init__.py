"""The benchmark: a realistic data set generated in bulk, and what the system does with it (`make bench`)."""
