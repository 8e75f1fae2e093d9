"""Image review: review sessions, the queue, decisions and re-reviews."""
