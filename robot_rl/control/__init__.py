"""Control-side utilities shared by every robot backend: safety limits, timing."""
