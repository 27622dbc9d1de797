"""Tally orchestration: Python entry points around the dbt project."""
