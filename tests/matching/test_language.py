"""Plainly not English: say so honestly (999 and Childline), never "I only cover…"."""

from __future__ import annotations

import pytest

from bot.dialogue import State, Text

OTHER = [
    "Mae rhywun yn bygwth rhannu lluniau o fy mab oni bai ei fod yn talu arian",  # Welsh
    "Ktoś grozi mojej córce, że opublikuje jej zdjęcia, jeśli nie zapłaci",  # Polish
    "Alguien amenaza a mi hijo con publicar sus fotos si no paga dinero",  # Spanish
    "کوئی میرے بیٹے کی تصویریں شیئر کرنے کی دھمکی دے رہا ہے",  # Urdu
    "Quelqu'un menace ma fille de publier ses photos si elle ne paie pas",  # French
]
ENGLISH = [
    "ma boy is 13 sum1 got his pic n sayin they gonna share it wot do i do",
    "y9 lass blackmailed on snap, help",
    "whats the childline number",
    "DSL here, sextortion disclosure, next steps?",
]


@pytest.mark.parametrize("text", OTHER)
def test_other_languages_get_an_honest_reply(engine, content, text) -> None:
    [reply] = engine.handle(State(), Text(text)).replies
    assert reply.text == engine.replies.text("not_english")
    assert "999" in reply.text and "0800 1111" in reply.text


@pytest.mark.parametrize("text", ENGLISH)
def test_slang_and_text_speak_stay_english(engine, text) -> None:
    assert engine.classify(text).english
