"""The Test backend pretending to be a network backend (its mode is not "test")."""

from errbot.backends import test


class FakeNetBackend(test.TestBackend):
    """Queues in and out like the Test backend; only the mode differs."""

    __test__ = False

    @property
    def mode(self) -> str:
        return "fakenet"
