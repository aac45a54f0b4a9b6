"""The mapping grid (accounts ↔ Gradient clients, services ↔ partner services) and its page."""
