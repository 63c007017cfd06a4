"""Behaviours that published Errbot plugins' own test suites rely on.

Each test here reproduces, in its own words, something a real third-party plugin test suite
does that once failed against this project (see the compatibility table in the report /
docs/architecture.md).
"""

from markdown import Markdown
from markdown.extensions.extra import ExtraExtension

from errbot.rendering import ansiext, imtext


def test_ansiext_exposes_errbots_processor_names() -> None:
    # Suites import these names to monkeypatch them; a missing name is an AttributeError
    # before the first assertion runs.
    md = Markdown(output_format="text", extensions=[ExtraExtension(), ansiext.AnsiExtension()])
    assert isinstance(md.preprocessors["ansi_fenced_codeblock"], ansiext.AnsiPreprocessor)
    assert isinstance(md.postprocessors["unescape_html"], ansiext.AnsiPostprocessor)


def test_an_errbot_style_replacement_of_the_fenced_code_step_is_used(monkeypatch) -> None:
    calls: list[int] = []

    # The shape of the replacement such suites install (a workaround for an old Errbot bug):
    # python-markdown 2 names (`self.markdown`), the class's regex and its `_escape`.
    def stash_fences(self, lines):
        calls.append(len(lines))
        text = "\n".join(lines)
        found = self.FENCED_BLOCK_RE.search(text)
        while found:
            stored = self.markdown.htmlStash.store(self._escape(found.group("code")))
            text = "\n".join((text[: found.start()], stored, text[found.end() :]))
            found = self.FENCED_BLOCK_RE.search(text)
        return text.split("\n")

    monkeypatch.setattr(ansiext.AnsiPreprocessor, "run", stash_fences)
    rendered = imtext().convert('before\n\n```\nif a < b && c > "d":\n```\n\nafter')
    assert calls, "the patched preprocessor was not the one rendering replies"
    assert 'if a < b && c > "d":' in rendered
    assert rendered.startswith("before") and rendered.rstrip().endswith("after")


def test_the_fenced_code_step_unpatched_still_fences_code() -> None:
    rendered = imtext().convert("```\nx & y\n```")
    assert rendered.strip() == "```\nx & y\n```"
