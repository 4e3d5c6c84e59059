"""The catalog enrichment pipeline: the request, its batches, the provider, their stores."""
