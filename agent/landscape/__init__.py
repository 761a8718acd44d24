"""The relationship landscape: the matrix, the map, the Friday reconnect list and hour."""
