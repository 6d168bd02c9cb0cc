"""The local stack: the whole system from ``template.yaml`` on one machine, no Docker, no AWS.

Three packages, by what they are:

* ``local.aws``: what emulates AWS. The template reader, the moto endpoint and its fixes, API
  Gateway HTTP APIs, Lambda (handlers, context, environment, calls made with a function's role),
  event source mappings and their filters.
* ``local.stack``: running it. The ``Stack`` (the template's resources, routes and mappings against
  an endpoint), the invokers (in process, or worker processes per function), the delivery loops,
  the HTTP servers, ``make run`` and the subprocess handle tests and benchmarks use.
* ``local.demo``: what a demo needs. The seed catalog, the fixed aggregates and sample events of
  ``events/``, and the ``sam local`` env-vars file.

``python -m local`` (what ``make run`` starts) runs ``local.stack.run``.
"""

from pathlib import Path

#: The repository root (``template.yaml``, ``events/``, ``layers/``).
ROOT = Path(__file__).resolve().parent.parent
