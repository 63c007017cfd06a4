"""Chat backends: the shared contract in `base` and one module per network.

Nothing is imported here on purpose: the bot loads exactly one backend, discovered through its
``.plug`` file, and start-up time should not pay for the others.
"""
