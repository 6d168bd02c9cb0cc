"""What emulates AWS: template reading, the moto endpoint, API Gateway, Lambda, event source mappings."""
