"""Orders service: orders placed from checked-out carts, confirmed or rejected by stock, cancelled."""
