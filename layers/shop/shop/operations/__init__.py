"""Operations an operator runs on the stores and read tables (``shopctl``, the local stack):
rebuilding a read table from its event store (``rebuild``), and which read table each event store
feeds (``readmodels``); and the parking of records a stream consumer gave up on, which the
consumers' Lambdas run too (``parking``, ``parking_dynamodb``; redrive runs in ``shopctl``). Built
from the same parts as the Lambdas: the projection engine, the event store codec, the DynamoDB
adapters."""
