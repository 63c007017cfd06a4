"""Plugins shipped with the framework (help, utilities, access control, rooms...)."""
