"""The Alerts page: send vendor alerts (PSA tickets), follow them, and settle those in doubt."""
