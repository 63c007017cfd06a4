"""Chat backends: the shared contract in `base`, and one package per network (`irc`, `xmpp`,
`slack`, `telegram`, `discord`, `mattermost`, `matrix`) next to the developer backends.

Nothing is imported here on purpose: the bot loads exactly one backend, discovered through its
``.plug`` file, and start-up time should not pay for the others.
"""
