"""Template look-up and rendering (`errbot.templating`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from errbot import templating
from errbot.backends.base import Card
from errbot.templating import (
    add_plugin_templates_path,
    make_templates_path,
    remove_plugin_templates_path,
    render_template,
    tenv,
)

Register = Callable[[str, dict[str, str]], Path]


@pytest.fixture
def register(tmp_path: Path) -> Iterator[Register]:
    """Create a plugin templates directory with the given files and register it."""
    names: list[str] = []

    def make(plugin: str, files: dict[str, str]) -> Path:
        directory = make_templates_path(tmp_path / plugin)
        directory.mkdir(parents=True)
        for name, content in files.items():
            (directory / name).write_text(content, encoding="utf-8")
        assert add_plugin_templates_path(plugin, directory)
        names.append(plugin)
        return directory

    yield make
    for plugin in names:
        remove_plugin_templates_path(plugin)


def test_make_templates_path() -> None:
    assert make_templates_path(Path("/x/plugin")) == Path("/x/plugin/templates")
    assert make_templates_path("/x") == Path("/x/templates")  # type: ignore[arg-type]


def test_environment_options() -> None:
    env = tenv()
    assert env is tenv()
    assert env.trim_blocks is True
    assert env.keep_trailing_newline is False
    assert env.autoescape is True


def test_own_template_beats_a_global_one(register: Register) -> None:
    register("Alpha", {"status.md": "alpha status"})
    register("Beta", {"status.md": "beta status"})
    assert render_template("status", {}, plugin_name="Beta") == "beta status"
    assert render_template("status", {}, plugin_name="Alpha") == "alpha status"


def test_global_search_follows_registration_order(register: Register) -> None:
    register("Alpha", {"status.md": "alpha status"})
    register("Beta", {"status.md": "beta status", "only_beta.md": "beta only"})
    assert render_template("status", {}) == "alpha status"
    # a plugin without its own copy falls back to the global search
    register("Gamma", {})
    assert render_template("status", {}, plugin_name="Gamma") == "alpha status"
    assert render_template("only_beta", {}, plugin_name="Alpha") == "beta only"
    # an unknown plugin name also falls back
    assert render_template("status", {}, plugin_name="Nobody") == "alpha status"


def test_core_templates_come_before_plugin_ones(register: Register) -> None:
    register("Shadow", {"card.md": "shadowed card"})
    card = Card("the body", title="Title")
    assert "the body" in render_template("card", {"card": card})
    assert render_template("card", {"card": card}, plugin_name="Shadow") == "shadowed card"


def test_removal_and_reregistration_update_the_search(register: Register, tmp_path: Path) -> None:
    register("Alpha", {"status.md": "alpha status"})
    beta = register("Beta", {"status.md": "beta status"})
    assert render_template("status", {}) == "alpha status"
    remove_plugin_templates_path("Alpha")
    assert render_template("status", {}) == "beta status"
    with pytest.raises(jinja2.TemplateNotFound):
        tenv().get_template("Alpha/status.md")
    # registering again moves a plugin to the end, like re-activating it
    alpha_again = make_templates_path(tmp_path / "again")
    alpha_again.mkdir(parents=True)
    (alpha_again / "status.md").write_text("alpha again")
    assert add_plugin_templates_path("Alpha", alpha_again)
    assert render_template("status", {}) == "beta status"
    assert render_template("status", {}, plugin_name="Alpha") == "alpha again"
    assert add_plugin_templates_path("Beta", beta)
    assert render_template("status", {}) == "alpha again"


def test_missing_directory_is_not_registered(tmp_path: Path) -> None:
    assert add_plugin_templates_path("Ghost", tmp_path / "nope") is False
    remove_plugin_templates_path("Ghost")  # unknown names are ignored


def test_plugin_info_form_is_accepted(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "infoplugin"
    make_templates_path(plugin_dir).mkdir(parents=True)
    (make_templates_path(plugin_dir) / "hello.md").write_text("hi {{ who }}")
    info = SimpleNamespace(name="InfoPlugin", location=plugin_dir / "info.plug")
    try:
        assert add_plugin_templates_path(info)  # type: ignore[arg-type]
        assert render_template("hello", {"who": "there"}, plugin_name="InfoPlugin") == "hi there"
    finally:
        remove_plugin_templates_path(info)  # type: ignore[arg-type]


def test_values_are_html_escaped(register: Register) -> None:
    register("Esc", {"esc.md": "{{ value }}"})
    assert render_template("esc", {"value": "<b>&"}) == "&lt;b&gt;&amp;"


def test_whitespace_options_apply(register: Register) -> None:
    register("Ws", {"ws.md": "{% if flag %}\nyes\n{% endif %}\nend\n"})
    assert render_template("ws", {"flag": True}) == "yes\nend"


def test_name_with_suffix_and_mapping_params(register: Register) -> None:
    register("Suffix", {"s.md": "{{ a }}-{{ b }}"})
    params = {"a": 1, "b": 2}
    assert render_template("s.md", params) == "1-2"
    assert params == {"a": 1, "b": 2}


def test_missing_template_raises() -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        render_template("does_not_exist", {})
    with pytest.raises(jinja2.TemplateNotFound):
        render_template("does_not_exist", {}, plugin_name="Alpha")


def test_string_name_needs_a_path() -> None:
    with pytest.raises(TypeError):
        add_plugin_templates_path("NoPath")


def test_jinja2_is_imported_lazily() -> None:
    code = (
        "import sys, errbot.templating as t\n"
        "assert 'jinja2' not in sys.modules\n"
        "t.tenv()\n"
        "assert 'jinja2' in sys.modules\n"
    )
    root = Path(templating.__file__).parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# -- card.md ------------------------------------------------------------------------------------


def test_card_template_renders_every_part() -> None:
    card = Card(
        "Deploy *finished*.",
        title="Build 42",
        link="https://ci.example/42",
        summary="all green",
        image="https://ci.example/badge.png",
        fields=(("branch", "main"), ("took", "3 min")),
    )
    text = render_template("card", {"card": card})
    assert text.split("\n\n") == [
        "**[Build 42](https://ci.example/42)**",
        "_all green_",
        "Deploy *finished*.",
        "- **branch**: main\n- **took**: 3 min",
        "![Build 42](https://ci.example/badge.png)",
    ]


def test_card_template_minimal_and_link_only() -> None:
    assert render_template("card", {"card": Card("just a body")}) == "just a body"
    linked = render_template("card", {"card": Card("body", link="https://x.example")})
    assert linked == "body\n\nhttps://x.example"
    assert render_template("card", {"card": Card()}) == ""


def test_card_template_keeps_multi_line_field_values_in_their_item() -> None:
    card = Card(fields=(("a|b", "line one\nline two"),))
    text = render_template("card", {"card": card})
    assert text == "- **a|b**: line one\n  line two"
