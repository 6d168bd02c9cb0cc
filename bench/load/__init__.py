"""Load on the local stack with locust: ``run.py`` starts the stack and drives ``locustfile.py``."""
