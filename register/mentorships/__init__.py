"""Mentorships: the relationships that accepted requests start."""
