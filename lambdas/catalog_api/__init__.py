"""Catalog API function: POST and GET /catalogs/{catalog_id}/enrichments and
GET /users/{user_id}/enrichments."""
