"""Cart service: a customer's cart, its lines, and checking it out (which starts an order)."""
