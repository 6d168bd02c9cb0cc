"""Running the system: the stack, its invokers and delivery loops, HTTP servers, ``make run``."""
