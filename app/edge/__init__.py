"""The HTTP edge: what runs before FastAPI routes a request.

``FastPath`` answers well-formed lookups from the in-memory index; ``layers`` holds the plain
ASGI layers (body limit, revision header), ``bodies`` the lookup bodies written byte for byte
as the routes would, ``metrics`` the request statistics. Nothing here touches the database:
``tests/unit/test_boundaries.py`` holds this package to it.
"""
