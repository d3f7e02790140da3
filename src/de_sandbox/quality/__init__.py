"""Data quality with Great Expectations 1.x: one suite registry, the file context, validation and its report."""
