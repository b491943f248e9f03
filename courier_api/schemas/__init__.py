"""Wire structs: camelCase JSON, constraints in the types."""
