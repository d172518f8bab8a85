"""Media handling: uploads, the URL policy for media fields, and probing."""
