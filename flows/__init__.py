"""Prefect flows over the kracht stages: ingest, tag, push_review, pull_review, retrain, report,
main and inbox (one module each), plus ``deploy`` (schedules → deployments) and ``local`` (run a
flow with nothing to set up). See ``flows/README.md``.

Nothing is imported here: importing Prefect reads its settings once, so callers set them first
(:func:`flows.environment.prepare`) and then import the flow modules they need.
"""

FLOW_NAMES = ("ingest", "tag", "push_review", "pull_review", "retrain", "report", "main", "inbox")
