"""Dagster definitions around the dbt project: assets, checks, schedules, sensors.

A thin face over the core (`orchestration.build`, `orchestration.alerts`): a
Dagster run builds through the same working copy and publish step as
`tally build`, and the alert sensor runs the same pass as `tally alert`.
"""
