"""What values and rules mean, written once: every engine runs this as its own expressions."""
