"""The life of a pipeline: scaffold one from a template, check a change on a scratch warehouse, remove one."""
