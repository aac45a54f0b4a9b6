"""Gradient Desktop: connect a vendor product to Gradient MSP's billing platform through the Vendor API."""

__version__ = "0.1.0"
