"""The dbt project on disk: running dbt with the sandbox's profile and env, and the artefacts it writes."""
