"""A flow module without any BotFlow subclass: loading it is an error."""


class NotAFlow:
    pass
