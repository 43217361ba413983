"""katapult-ipam: IP address allocation compatible with the Katapult Core API."""

__version__ = "0.1.0"
