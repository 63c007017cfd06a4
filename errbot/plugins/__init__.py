"""Namespace under which plugin modules are imported (``errbot.plugins.<Module>``).

The plugin manager appends each plugin folder to this package's ``__path__``, so a plugin
module can import its sibling modules relatively as well as absolutely.
"""
