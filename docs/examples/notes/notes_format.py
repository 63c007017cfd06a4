"""A helper module next to the plugin; plugin folders are importable."""


def bullets(items):
    return "\n".join(f"- {item}" for item in items)
