"""Namespace under which flow modules are imported (``errbot.flows.<Module>``).

The plugin manager appends each folder holding a ``.flow`` descriptor to this package's
``__path__``, so a flow module can import its sibling modules relatively.
"""
