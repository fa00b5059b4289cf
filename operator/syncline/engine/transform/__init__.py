"""Between source and sink: the optional SQL step, then field mappings and transforms."""
