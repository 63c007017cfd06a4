"""The BotPlugin API seen from plugins on a running bot: lifecycle, configuration, storage,
messaging helpers, callbacks and dynamic plugins."""

from __future__ import annotations

import io
import logging
import os
import queue
import threading
from pathlib import Path

import pytest

from errbot import Command, ValidationException, arg_botcmd, botmatch, re_botcmd
from errbot.backends.base import (
    ONLINE,
    REACTION_ADDED,
    Message,
    Presence,
    Reaction,
    Room,
    Stream,
)
from errbot.backends.test import TestOccupant, TestPerson
from errbot.botplugin import recurse_check_structure
from errbot.plugin_manager import PluginConfigurationException

PLUGINS = os.path.join(os.path.dirname(__file__), "plugins")
extra_plugin_dir = [os.path.join(PLUGINS, "lifecycle"), os.path.join(PLUGINS, "lifecycle_peer")]
loglevel = logging.WARNING

VALID_CONFIG = {
    "HOST": "example.org",
    "PORT": 443,
    "TAGS": ["x", "y"],
    "NESTED": {"FLAG": False, "ANYTHING": [1, "two", {"three": 3}]},
}


@pytest.fixture
def plugin(testbot):
    return testbot.bot.plugin_manager.get_plugin_obj_by_name("Lifecycle")


def reactivate(testbot, name: str = "Lifecycle") -> None:
    manager = testbot.bot.plugin_manager
    manager.deactivate_plugin(name)
    manager.activate_plugin(name)


# -- attributes ------------------------------------------------------------------------------


def test_plugin_attributes(testbot, plugin):
    assert plugin.name == "Lifecycle"
    assert plugin.log.name == "errbot.plugins.Lifecycle"
    assert plugin.mode == "test"
    assert plugin.is_activated
    assert plugin.bot_config is testbot.bot_config
    assert plugin.bot_config.BOT_PREFIX == "!"
    assert plugin._bot is testbot.bot
    assert plugin.bot_identifier == TestPerson("Err")
    assert plugin.namespace == "Lifecycle"
    assert plugin.dependencies == []
    assert plugin.__errdoc__ == "Exercises the BotPlugin API from the tests."
    # Errbot's quirk: the bot-wide installed-plugins directory, not the plugin's own folder.
    assert Path(plugin.plugin_dir) == Path(testbot.bot_config.BOT_DATA_DIR) / "plugins"
    assert Path(plugin.plugin_dir).is_dir()


def test_name_is_read_only(plugin):
    with pytest.raises(AttributeError):
        plugin.name = "Other"


def test_bot_config_normalises_a_string_bot_admins(testbot, plugin):
    testbot.bot_config.BOT_ADMINS = "boss@localhost"
    assert plugin.bot_config.BOT_ADMINS == ("boss@localhost",)


def test_configure_is_called_with_none_before_activation(plugin):
    assert plugin.config is None
    assert plugin.config_at_activation is None
    assert plugin.activations == 1


# -- configuration ---------------------------------------------------------------------------


def test_stored_configuration_is_applied_on_activation(testbot, plugin):
    manager = testbot.bot.plugin_manager
    manager.set_plugin_configuration("Lifecycle", VALID_CONFIG)
    reactivate(testbot)
    assert plugin.is_activated
    assert plugin.config == VALID_CONFIG
    assert plugin.config_at_activation == VALID_CONFIG
    assert testbot.exec_command("!lc_config") == repr(VALID_CONFIG)
    manager.delete_plugin_configuration("Lifecycle")
    reactivate(testbot)
    assert plugin.config is None


def test_rejected_configuration_leaves_the_plugin_inactive(testbot, plugin):
    manager = testbot.bot.plugin_manager
    manager.set_plugin_configuration("Lifecycle", {**VALID_CONFIG, "PORT": "443"})
    manager.deactivate_plugin("Lifecycle")
    with pytest.raises(PluginConfigurationException):
        manager.activate_plugin("Lifecycle")
    assert not plugin.is_activated
    assert plugin.config is None
    assert "not found" in testbot.exec_command("!lc_config")
    # A good configuration brings it back.
    manager.set_plugin_configuration("Lifecycle", VALID_CONFIG)
    manager.activate_plugin("Lifecycle")
    assert plugin.config == VALID_CONFIG


def test_configuration_of_a_plugin_without_template_is_passed_as_is(testbot):
    manager = testbot.bot.plugin_manager
    peer = manager.get_plugin_obj_by_name("LifecyclePeer")
    assert peer.get_configuration_template() is None
    manager.set_plugin_configuration("LifecyclePeer", ["anything", "goes"])
    reactivate(testbot, "LifecyclePeer")
    assert peer.config == ["anything", "goes"]


def test_default_check_configuration_accepts_the_template_shape(plugin):
    plugin.check_configuration(VALID_CONFIG)
    plugin.check_configuration(plugin.get_configuration_template())
    plugin.check_configuration({**VALID_CONFIG, "TAGS": []})


@pytest.mark.parametrize(
    "bad",
    [
        "not a dict",
        {k: v for k, v in VALID_CONFIG.items() if k != "PORT"},  # missing key
        {**VALID_CONFIG, "EXTRA": 1},  # unknown key
        {**VALID_CONFIG, "PORT": "443"},  # wrong type
        {**VALID_CONFIG, "PORT": True},  # bool is not int: types must match exactly
        {**VALID_CONFIG, "TAGS": ("x",)},  # tuple is not list
        {**VALID_CONFIG, "TAGS": ["x", 2]},  # each element checked against sample[0]
        {**VALID_CONFIG, "NESTED": {"FLAG": 1, "ANYTHING": None}},  # nested wrong type
        {**VALID_CONFIG, "NESTED": {"FLAG": True}},  # nested missing key
    ],
    ids=[
        "type",
        "missing-key",
        "extra-key",
        "str-for-int",
        "bool-for-int",
        "tuple-for-list",
        "list-element",
        "nested-type",
        "nested-missing",
    ],
)
def test_default_check_configuration_rejects(plugin, bad):
    with pytest.raises(ValidationException):
        plugin.check_configuration(bad)


@pytest.mark.parametrize(
    ("sample", "given"),
    [
        (None, {"anything": object()}),
        ({"a": None}, {"a": [1, 2]}),
        ([], [1, "mixed", None]),
        ([{"k": 0}], [{"k": 1}, {"k": 2}]),
        ((1,), (2, 3)),
        ("text", "other text"),
    ],
)
def test_recursive_check_accepts(sample, given):
    recurse_check_structure(sample, given)


@pytest.mark.parametrize(
    ("sample", "given"),
    [
        ([{"k": 0}], [{"k": 1}, {"k": "2"}]),
        ({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 1.0}}}),
        ({"a": {"b": {"c": 1}}}, {"a": {"b": {}}}),
        ((1,), [1]),
        (1, None),
    ],
)
def test_recursive_check_rejects(sample, given):
    with pytest.raises(ValidationException):
        recurse_check_structure(sample, given)


# -- storage ----------------------------------------------------------------------------------


def test_storage_persists_across_deactivate_activate(testbot, plugin):
    plugin["direct"] = {"set": "from the test"}
    assert testbot.exec_command("!lc_store colour blue") == "stored colour"
    reactivate(testbot)
    assert plugin.activations == 2
    assert plugin["direct"] == {"set": "from the test"}
    assert testbot.exec_command("!lc_fetch colour") == "blue"
    assert sorted(plugin.keys()) == ["colour", "direct"]


def test_storage_is_closed_while_deactivated(testbot, plugin):
    plugin["k"] = 1
    testbot.bot.plugin_manager.deactivate_plugin("Lifecycle")
    assert not plugin.is_open_storage()
    with pytest.raises(Exception, match="Storage does not appear to have been opened yet"):
        plugin["k"]
    testbot.bot.plugin_manager.activate_plugin("Lifecycle")
    assert plugin["k"] == 1


def test_mutable_writes_back(testbot, plugin):
    with plugin.mutable("seen", []) as seen:
        seen.append("alice")
    with plugin.mutable("seen", []) as seen:
        seen.append("bob")
    reactivate(testbot)
    assert plugin["seen"] == ["alice", "bob"]


def test_plugins_have_separate_namespaces(testbot, plugin):
    peer = testbot.bot.plugin_manager.get_plugin_obj_by_name("LifecyclePeer")
    plugin["shared-name"] = "lifecycle's"
    peer["shared-name"] = "peer's"
    assert plugin["shared-name"] == "lifecycle's"
    assert "shared-name" in peer and peer["shared-name"] == "peer's"


# -- lifecycle --------------------------------------------------------------------------------


def test_deactivation_withdraws_commands_and_activation_restores_them(testbot, plugin):
    manager = testbot.bot.plugin_manager
    manager.deactivate_plugin("Lifecycle")
    assert not plugin.is_activated
    assert plugin.deactivations == 1
    assert "Lifecycle" not in manager.get_all_active_plugin_names()
    assert "not found" in testbot.exec_command("!lc_fetch x")
    manager.activate_plugin("Lifecycle")
    assert plugin.is_activated
    assert testbot.exec_command("!lc_fetch x") == "<missing>"
    # The same instance is reused.
    assert manager.get_plugin_obj_by_name("Lifecycle") is plugin


def test_activating_an_active_plugin_is_a_no_op(testbot, plugin):
    testbot.bot.plugin_manager.activate_plugin("Lifecycle")
    assert plugin.activations == 1


# -- messaging helpers --------------------------------------------------------------------------


def test_send_to_a_person(testbot, plugin):
    alice = plugin.build_identifier("alice")
    assert isinstance(alice, TestPerson) and alice.person == "alice"
    assert plugin.send(alice, "**hello** alice") is None
    assert testbot.pop_message() == "hello alice"
    sent = plugin.wait_sent("**hello** alice")
    assert sent.to == alice
    assert sent.frm == plugin.bot_identifier
    assert sent.parent is None


def test_send_in_reply_to(testbot, plugin):
    alice = plugin.build_identifier("alice")
    question = Message("a question", frm=alice, to=plugin.bot_identifier)
    plugin.send(alice, "an answer", in_reply_to=question)
    assert testbot.pop_message() == "an answer"
    sent = plugin.wait_sent("an answer")
    assert sent.frm == question.to
    assert sent.parent is question


def test_send_to_a_room(testbot, plugin):
    room = testbot.bot.query_room("testroom")
    assert room.joined  # ChatRoom joined CHATROOM_PRESENCE at start-up
    plugin.send(room, "hello room")
    assert testbot.pop_message() == "hello room"
    sent = plugin.wait_sent("hello room")
    assert sent.to == room
    assert isinstance(sent.to, Room)


def test_send_to_a_room_with_nick_reply(testbot, plugin):
    room = testbot.bot.query_room("testroom")
    occupant = TestOccupant("alice", room)
    question = Message("hi bot", frm=occupant, to=room)
    plugin.send(room, "plain reply", in_reply_to=question)
    assert testbot.pop_message() == "plain reply"
    plugin.send(room, "nick reply", in_reply_to=question, groupchat_nick_reply=True)
    assert testbot.pop_message() == "@alice nick reply"


def test_send_refuses_strings(plugin):
    with pytest.raises(ValueError) as failure:
        plugin.send("alice", "hello")
    assert str(failure.value) == (
        "identifier needs to be of type Identifier, the old string behavior is not supported"
    )


def test_send_from_another_thread(testbot, plugin):
    alice = plugin.build_identifier("alice")
    sender = threading.Thread(target=plugin.send, args=(alice, "from a thread"))
    sender.start()
    sender.join()
    assert testbot.pop_message() == "from a thread"


def test_send_templated_uses_the_plugin_own_template(testbot, plugin):
    """Both plugins ship templates/greeting.md: each gets its own."""
    assert testbot.exec_command("!lc_greet Bob") == "Lifecycle greets Bob."
    assert testbot.exec_command("!peer_greet Bob") == "The peer says hello to Bob."
    plugin.send_templated(plugin.build_identifier("carol"), "greeting", {"who": "Carol"})
    assert testbot.pop_message() == "Lifecycle greets Carol."
    assert plugin.wait_sent("Lifecycle greets Carol.").to == TestPerson("carol")


def test_send_card_is_rendered_as_text(testbot, plugin):
    alice = plugin.build_identifier("alice")
    plugin.send_card(
        body="The card body.",
        to=alice,
        title="Card title",
        summary="A summary",
        fields=(("Status", "green"), ("Owner", "alice")),
    )
    text = testbot.pop_message()
    for part in ("Card title", "A summary", "The card body.", "Status", "green", "Owner"):
        assert part in text
    sent = plugin.wait_sent(lambda body: "The card body." in body)
    assert sent.to == alice


def test_send_card_defaults_to_the_sender_of_in_reply_to(testbot, plugin):
    alice = plugin.build_identifier("alice")
    question = Message("card please", frm=alice, to=plugin.bot_identifier)
    plugin.send_card(body="reply card", in_reply_to=question)
    assert "reply card" in testbot.pop_message()
    sent = plugin.wait_sent(lambda body: "reply card" in body)
    assert sent.to == alice
    assert sent.frm == plugin.bot_identifier


def test_send_card_needs_a_recipient(plugin):
    with pytest.raises(ValueError) as failure:
        plugin.send_card(body="nowhere")
    assert str(failure.value) == "Either to or in_reply_to needs to be set."


def test_send_stream_request(testbot, plugin):
    plugin.send_stream_request(plugin.build_identifier("alice"), io.BytesIO(b"file content"))
    assert testbot.pop_message() == b"file content"


def test_warn_admins_default_recipients(testbot, plugin):
    plugin.warn_admins("Something is wrong")
    assert testbot.pop_message() == "Something is wrong"
    sent = plugin.wait_sent("Something is wrong")
    assert sent.to == TestPerson("gbin@localhost")
    with pytest.raises(queue.Empty):
        testbot.pop_message(timeout=0.2)


class TestWarnAdminsNotifications:
    extra_config = {
        "BOT_ADMINS": ("gbin@localhost",),
        "BOT_ADMINS_NOTIFICATIONS": ("ops@localhost", "oncall@localhost"),
    }

    def test_warn_admins_reaches_bot_admins_notifications(self, testbot, plugin):
        plugin.warn_admins("Disk almost full")
        assert [testbot.pop_message(), testbot.pop_message()] == ["Disk almost full"] * 2
        plugin.wait_sent("Disk almost full")
        with plugin._sent_changed:
            recipients = sorted(str(m.to) for m in plugin.sent if m.body == "Disk almost full")
        assert recipients == ["oncall@localhost", "ops@localhost"]


def test_rooms_and_query_room(testbot, plugin):
    assert [room.name for room in plugin.rooms()] == ["testroom"]
    existing = plugin.query_room("testroom")
    assert existing.exists and existing.joined
    missing = plugin.query_room("nowhere")
    assert not missing.exists and not missing.joined
    # There is no join_room: joining goes through the room object.
    plugin.query_room("elsewhere").join()
    assert sorted(room.name for room in plugin.rooms()) == ["elsewhere", "testroom"]


def test_change_presence_is_accepted(plugin):
    plugin.change_presence(ONLINE, "ready for tests")


# -- callbacks ----------------------------------------------------------------------------------


class TestCallbacks:
    extra_plugin_dir = [
        os.path.join(PLUGINS, "callbacks"),
        os.path.join(PLUGINS, "callbacks_async"),
    ]
    extra_config = {"PLUGINS_CALLBACK_ORDER": ("CbB", "CbRaise", None)}

    @pytest.fixture
    def recorders(self, testbot):
        manager = testbot.bot.plugin_manager
        return {
            name: manager.get_plugin_obj_by_name(name) for name in ("CbA", "CbB", "CbC", "CbRaise")
        }

    @staticmethod
    def order_of(recorders, kind, predicate):
        """Names of the recorders, sorted by when they received the matching event."""
        seqs = {name: rec.wait_for(kind, predicate)[0] for name, rec in recorders.items()}
        return sorted(seqs, key=seqs.get)

    def test_connect_is_called_twice_at_startup(self, recorders):
        for recorder in recorders.values():
            assert len(recorder.of_kind("connect")) == 2

    def test_message_order_and_isolation(self, testbot, recorders):
        testbot.push_message("just chatting")
        order = self.order_of(recorders, "message", lambda args: args[0].body == "just chatting")
        # CbB first, then CbRaise (whose exception stops nobody), then the others in order.
        assert order == ["CbB", "CbRaise", "CbA", "CbC"]
        (message,) = recorders["CbA"].wait_for("message")[1]
        assert message.frm == testbot.bot.sender
        assert message.to == testbot.bot.bot_identifier

    def test_commands_reach_callback_message_too(self, testbot, recorders):
        assert testbot.exec_command("!echo hi") == "hi"
        recorders["CbC"].wait_for("message", lambda args: args[0].body == "!echo hi")

    def test_inactive_plugins_get_no_callbacks(self, testbot, recorders):
        manager = testbot.bot.plugin_manager
        manager.deactivate_plugin("CbA")
        testbot.push_message("after deactivation")
        recorders["CbC"].wait_for("message", lambda args: args[0].body == "after deactivation")
        # CbA comes before CbC in the order: had it been called, it would be by now.
        assert all(
            args[0].body != "after deactivation" for _, args in recorders["CbA"].of_kind("message")
        )
        manager.activate_plugin("CbA")
        testbot.push_message("after reactivation")
        recorders["CbA"].wait_for("message", lambda args: args[0].body == "after reactivation")

    def test_mentions(self, testbot, recorders):
        testbot.push_message("ping @alice and @bob please")
        for recorder in recorders.values():
            message, people = recorder.wait_for("mention")[1]
            assert message.body == "ping @alice and @bob please"
            assert list(people) == [TestPerson("alice"), TestPerson("bob")]

    def test_no_mention_without_at_words(self, testbot, recorders):
        testbot.push_message("an email like a@b is not a mention")
        testbot.push_message("marker")
        recorders["CbC"].wait_for("message", lambda args: args[0].body == "marker")
        assert recorders["CbA"].of_kind("mention") == []

    def test_presence(self, testbot, recorders):
        presence = Presence(TestPerson("alice"), ONLINE, "back")
        testbot.push_presence(presence)
        order = self.order_of(recorders, "presence", lambda args: args[0] is presence)
        assert order == ["CbB", "CbRaise", "CbA", "CbC"]

    def test_reaction(self, testbot, recorders):
        reaction = Reaction(TestPerson("alice"), action=REACTION_ADDED, reaction_name="thumbsup")
        testbot.bot.callback_reaction(reaction)
        order = self.order_of(recorders, "reaction", lambda args: args[0] is reaction)
        assert order == ["CbB", "CbRaise", "CbA", "CbC"]

    def test_botmessage_for_replies(self, testbot, recorders):
        assert testbot.exec_command("!echo reply text") == "reply text"
        order = self.order_of(recorders, "botmessage", lambda args: args[0].body == "reply text")
        assert order == ["CbB", "CbRaise", "CbA", "CbC"]
        (sent,) = recorders["CbA"].wait_for("botmessage", lambda a: a[0].body == "reply text")[1]
        assert sent.to == testbot.bot.sender

    def test_room_callbacks(self, testbot, recorders):
        bot = testbot.bot
        room = bot.query_room("cbroom")
        room.join()
        joined = recorders["CbC"].wait_for("room_joined", lambda args: args[0].name == "cbroom")
        # As in Errbot's Test backend: the bot's own occupant, named after BOT_IDENTITY.
        assert joined[1][1] == TestOccupant("err", room)
        assert joined[1][2] is None
        room.topic = "a new topic"
        topic = recorders["CbC"].wait_for("room_topic", lambda args: args[0].name == "cbroom")
        assert topic[1][0].topic == "a new topic"
        room.leave()
        left = recorders["CbC"].wait_for("room_left", lambda args: args[0].name == "cbroom")
        assert left[1][1] == TestOccupant("err", room)
        order = self.order_of(recorders, "room_left", lambda args: args[0].name == "cbroom")
        assert order == ["CbB", "CbRaise", "CbA", "CbC"]

    def test_async_callbacks(self, testbot):
        plugin = testbot.bot.plugin_manager.get_plugin_obj_by_name("CbAsync")
        assert testbot.exec_command("!echo async @carol") == "async @carol"
        plugin.wait_for("message", lambda args: args[0].body == "!echo async @carol")
        message, people = plugin.wait_for("mention")
        assert list(people) == [TestPerson("carol")]
        plugin.wait_for("botmessage", lambda args: args[0].body == "async @carol")
        testbot.push_presence(Presence(TestPerson("dave"), ONLINE))
        plugin.wait_for("presence", lambda args: args[0].identifier == TestPerson("dave"))
        room = testbot.bot.query_room("testroom")
        room.topic = "async topic"
        plugin.wait_for("room_topic", lambda args: args[0].topic == "async topic")
        assert set(plugin.loops) == {testbot.bot.runtime.loop}

    def test_each_plugin_gets_its_own_copy_of_a_stream(self, testbot, recorders):
        stream = Stream(TestPerson("alice"), io.BytesIO(b"payload"), name="f.txt", size=7)
        testbot.bot.callback_stream(stream)
        contents = {}
        for name in ("CbA", "CbB", "CbC"):
            (copy,) = recorders[name].wait_for("stream")[1]
            assert copy is not stream
            contents[name] = recorders[name].stream_content
        assert contents == {"CbA": b"payload", "CbB": b"payload", "CbC": b"payload"}


# -- dynamic plugins ----------------------------------------------------------------------------


def double(plugin, msg, value):
    return str(value * 2)


class TestDynamicPlugins:
    extra_plugin_dir = os.path.join(PLUGINS, "dynamic")

    @pytest.fixture
    def owner(self, testbot):
        return testbot.bot.plugin_manager.get_plugin_obj_by_name("DynOwner")

    def test_create_use_and_destroy(self, testbot, owner):
        manager = testbot.bot.plugin_manager
        commands = [
            Command(lambda plugin, msg, args: f"foo {args}", name="dynfoo", doc="Say foo."),
            Command(double, cmd_type=arg_botcmd, cmd_args=("value",), cmd_kwargs={"type": int}),
            Command(
                lambda plugin, msg, match: f"matched {match.group(1)}",
                cmd_type=botmatch,
                cmd_args=(r"^dyn match (\w+)$",),
                name="dynmatch",
            ),
            Command(
                lambda plugin, msg, match: "prefixed regex",
                cmd_type=re_botcmd,
                cmd_kwargs={"pattern": r"^dynre$"},
                name="dynre",
            ),
        ]
        dynamic = owner.create_dynamic_plugin("my-dyn plugin", commands, doc="A dynamic plugin.")
        assert type(dynamic).__name__ == "my_dyn_plugin"
        assert dynamic.name == "my-dyn plugin"
        assert dynamic.__errdoc__ == "A dynamic plugin."
        assert manager.get_plugin_obj_by_name("my-dyn plugin") is dynamic
        assert {"dynfoo", "double"} <= set(testbot.bot.commands)
        assert {"dynmatch", "dynre"} <= set(testbot.bot.re_commands)
        assert testbot.bot.commands["dynfoo"].__doc__ == "Say foo."
        assert testbot.exec_command("!dynfoo bar") == "foo bar"
        assert testbot.exec_command("!double 21") == "42"
        assert testbot.exec_command("dyn match xyz") == "matched xyz"
        assert testbot.exec_command("!dynre") == "prefixed regex"
        # The commands receive the dynamic plugin as `self`.
        probe = Command(lambda plugin, msg, args: plugin.name, name="whoami_dyn")
        owner.create_dynamic_plugin("probe", [probe])
        assert testbot.exec_command("!whoami_dyn") == "probe"

        owner.destroy_dynamic_plugin("my-dyn plugin")
        assert manager.get_plugin_obj_by_name("my-dyn plugin") is None
        assert not {"dynfoo", "double"} & set(testbot.bot.commands)
        assert not {"dynmatch", "dynre"} & set(testbot.bot.re_commands)
        assert "not found" in testbot.exec_command("!dynfoo bar")
        assert testbot.exec_command("!whoami_dyn") == "probe"

    def test_clashing_dynamic_command_is_renamed(self, testbot, owner):
        owner.create_dynamic_plugin(
            "clashing", [Command(lambda plugin, msg, args: "dynamic clash", name="clash")]
        )
        assert testbot.pop_message() == (
            "clashing.clash clashes with DynOwner.clash so it has been renamed clashing-clash"
        )
        assert testbot.exec_command("!clash") == "static clash"
        assert testbot.exec_command("!clashing-clash") == "dynamic clash"

    def test_duplicate_and_unknown_names(self, testbot, owner):
        owner.create_dynamic_plugin("once", [Command(lambda p, m, a: "x", name="once_cmd")])
        with pytest.raises(ValueError):
            owner.create_dynamic_plugin("once", [Command(lambda p, m, a: "y", name="twice_cmd")])
        with pytest.raises(ValueError):
            owner.create_dynamic_plugin("Utils", [Command(lambda p, m, a: "y", name="utils_cmd")])
        with pytest.raises(ValueError):
            owner.destroy_dynamic_plugin("never-created")
        assert "not found" in testbot.exec_command("!twice_cmd")
        assert testbot.exec_command("!once_cmd") == "x"

    def test_lambda_needs_a_name(self):
        with pytest.raises(ValueError) as failure:
            Command(lambda plugin, msg, args: "anonymous")
        assert str(failure.value) == (
            "function is a lambda (anonymous), parameter name needs to be set."
        )

    def test_append_args_to_an_arg_botcmd(self, testbot, owner):
        def greet(plugin, msg, name, greeting):
            return f"{greeting}, {name}"

        command = Command(greet, cmd_type=arg_botcmd, cmd_args=("name",))
        command.append_args(("--greeting",), {"default": "hello"})
        owner.create_dynamic_plugin("greeter", [command])
        assert testbot.exec_command("!greet Ann") == "hello, Ann"
        assert testbot.exec_command("!greet Ann --greeting hi") == "hi, Ann"

    def test_owner_deactivation_removes_dynamic_plugins(self, testbot, owner):
        manager = testbot.bot.plugin_manager
        owner.create_dynamic_plugin("ephemeral", [Command(lambda p, m, a: "here", name="eph")])
        assert testbot.exec_command("!eph") == "here"
        manager.deactivate_plugin("DynOwner")
        assert manager.get_plugin_obj_by_name("ephemeral") is None
        assert "not found" in testbot.exec_command("!eph")
        manager.activate_plugin("DynOwner")
        assert "not found" in testbot.exec_command("!eph")
        # The name is free again.
        owner.create_dynamic_plugin("ephemeral", [Command(lambda p, m, a: "back", name="eph")])
        assert testbot.exec_command("!eph") == "back"

    def test_created_from_a_command(self, testbot):
        assert testbot.exec_command("!dyn_make chatty") == "made chatty"
        assert testbot.exec_command("!chatty_hi") == "chatty made by chat"
        dynamic = testbot.bot.plugin_manager.get_plugin_obj_by_name("chatty")
        assert dynamic.__errdoc__ == "Made from chat: chatty"

    def test_dynamic_plugins_get_callbacks_only_if_they_define_them(self, testbot, owner):
        dynamic = owner.create_dynamic_plugin("quiet", [Command(lambda p, m, a: "q", name="qq")])
        assert dynamic.is_activated
        assert dynamic in testbot.bot.plugin_manager.get_all_active_plugins()


class TestDynamicPluginsOfTwoOwners:
    extra_plugin_dir = os.path.join(PLUGINS, "dynamic")

    def test_names_are_unique_across_owners(self, testbot):
        manager = testbot.bot.plugin_manager
        first = manager.get_plugin_obj_by_name("DynOwner")
        second = manager.get_plugin_obj_by_name("DynSecond")
        mine = first.create_dynamic_plugin("taken", [Command(lambda p, m, a: "1st", name="tk")])
        with pytest.raises(ValueError):
            second.create_dynamic_plugin("taken", [Command(lambda p, m, a: "2nd", name="tk2")])
        with pytest.raises(ValueError):
            second.destroy_dynamic_plugin("taken")
        assert manager.get_plugin_obj_by_name("taken") is mine
        assert testbot.exec_command("!tk") == "1st"
        assert "not found" in testbot.exec_command("!tk2")


def test_templates_follow_activation(testbot, plugin):
    import jinja2

    from errbot.templating import render_template

    manager = testbot.bot.plugin_manager
    assert render_template("lc_only", {}) == "Only Lifecycle has this template."
    manager.deactivate_plugin("Lifecycle")
    with pytest.raises(jinja2.TemplateNotFound):
        render_template("lc_only", {})
    # Its namespaced greeting falls back to the global search: the peer's.
    assert render_template("greeting", {"who": "Ann"}, "Lifecycle") == "The peer says hello to Ann."
    manager.activate_plugin("Lifecycle")
    assert render_template("greeting", {"who": "Ann"}, "Lifecycle") == "Lifecycle greets Ann."
    testbot.stop()
    with pytest.raises(jinja2.TemplateNotFound):
        render_template("lc_only", {})
