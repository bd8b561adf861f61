"""Dagster wiring (one Definitions), jobs, schedules, sensors and the `crm` command line."""
