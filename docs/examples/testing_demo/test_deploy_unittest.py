import os

from errbot.backends.test import FullStackTest

HERE = os.path.dirname(os.path.abspath(__file__))


class DeployTest(FullStackTest):
    def setUp(self):
        super().setUp(extra_plugin_dir=HERE)

    def test_where(self):
        self.assertInCommand("!where", "direct message from gbin@localhost")
        self.assertEqual(self.exec_command("!lines x"), "1 lines")
