"""The local stack: the whole system from ``template.yaml`` on one machine, no Docker, no AWS.

``python -m local`` (what ``make run`` starts) brings up an embedded moto server with every table,
stream and queue the template declares, serves the two HTTP APIs with the template's routes, and
polls every stream subscription into its function with the mapping's settings.
"""
