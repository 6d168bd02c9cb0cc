"""Catalog service: products (details, price, lifecycle) and their stock."""
