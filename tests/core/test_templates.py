"""Every text exists in both languages, and the two label files have the same keys."""

from __future__ import annotations

from pathlib import Path

from bot.core.texts import LANGUAGES, Texts

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _names(language: str) -> set[str]:
    root = TEMPLATES / language
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_every_template_exists_in_both_languages() -> None:
    zh, en = _names("zh"), _names("en")
    assert zh - en == set(), "templates missing in English"
    assert en - zh == set(), "templates missing in Chinese"


def test_labels_match_across_languages() -> None:
    texts = Texts()
    keys = {language: texts.label_keys(language) for language in LANGUAGES}
    assert keys["zh"] - keys["en"] == set()
    assert keys["en"] - keys["zh"] == set()
    for language in LANGUAGES:
        for key in keys[language]:
            assert texts.label(language, key).strip(), f"{language}:{key} is empty"


def test_every_template_compiles() -> None:
    texts = Texts()
    for language in LANGUAGES:
        for name in _names(language):
            if name.endswith(".j2"):
                texts.env.get_template(f"{language}/{name}")
