"""The inventory model, its events and rules. Standard library only."""
