"""One construct per concern; each is secure by default without being asked."""
