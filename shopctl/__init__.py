"""``shopctl``: the operator's tool for the shop, against AWS (``--stack-name``) or the local stack
(``--endpoint-url``). Spec section 6; docs/operations.md lists every operation.

Not part of the Lambda layer: it runs on an operator's machine (or CloudShell, CI), imports the
layer's operations (``shop.operations``) and the repository's template reader.
"""
