"""The HTTP face of the service, shaped like Krystal's Apia framework."""
