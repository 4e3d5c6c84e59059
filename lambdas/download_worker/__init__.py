"""Download worker: fetches each queued order from the marketplace API into S3."""
