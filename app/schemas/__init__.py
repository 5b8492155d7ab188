"""API models, one module per resource; ``common`` holds what they are built from."""
