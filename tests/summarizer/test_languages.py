"""Quotes, speakers, key quotes and language detection in German, French and Spanish (texts written for these
tests)."""

from __future__ import annotations

import pytest

from summarizer import Quote, detect_language, extract_quotes, language_name, summarize
from summarizer._quotes import stands_alone

GERMAN = (
    "Brücke in der Altstadt bleibt gesperrt\n\n"
    "Die Brücke über die Lahn bleibt bis zum Sommer gesperrt. Bürgermeisterin Anna Keller kündigte am Montag "
    "eine rasche Reparatur an.\n\n"
    "„Wir werden die Brücke bis zum Sommer wieder öffnen“, sagte Keller am Montag.\n\n"
    "Der Sprecher des Bauamts, Jonas Brandt, sagte: „Die Kosten tragen Land und Bund gemeinsam, das ist "
    "vereinbart.“\n\n"
    "„Das wird noch einige Wochen dauern, leider“, sagte er.\n\n"
    "Am Dienstag sagte Keller: „Niemand muss sich Sorgen um die Schule machen.“\n\n"
    "»Die Händler in der Altstadt verlieren jeden Tag Geld«, so Brandt."
)
FRENCH = (
    "Le pont reste fermé\n\n"
    "Le pont sur la Loire restera fermé jusqu'à l'été. Le maire de la ville, Jean Dupont, a annoncé lundi des "
    "travaux rapides.\n\n"
    "« Nous allons reconstruire le pont avant l'été », a déclaré le maire, Jean Dupont.\n\n"
    "« Les travaux coûteront deux millions d'euros au total », a-t-il précisé.\n\n"
    "Selon Dupont, « aucune école ne sera touchée par la fermeture du pont ».\n\n"
    "La ministre Claire Martin a déclaré : « L'État paiera la moitié de la facture des travaux. »"
)
SPANISH = (
    "El puente sigue cerrado\n\n"
    "El puente sobre el río seguirá cerrado hasta el verano. La alcaldesa Ana García anunció el lunes obras "
    "rápidas.\n\n"
    "«Vamos a reconstruir el puente antes del verano», dijo la alcaldesa Ana García.\n\n"
    "«Las obras costarán dos millones de euros en total», afirmó García.\n\n"
    "Según García, «ninguna escuela se verá afectada por el cierre del puente».\n\n"
    "El portavoz del Gobierno, Juan Pérez, aseguró: «El Estado pagará la mitad de la factura de las obras.»"
)


def speakers(quotes: tuple[Quote, ...]) -> list[tuple[str | None, str | None, str]]:
    return [(q.speaker, q.role, " ".join(q.text.split()[:3])) for q in quotes]


def test_german_quotes_and_speakers() -> None:
    quotes = extract_quotes(GERMAN, "german")
    assert speakers(quotes) == [
        ("Anna Keller", "Bürgermeisterin", "Wir werden die"),  # „...“, sagte Keller (the surname resolved)
        ("Jonas Brandt", "Sprecher des Bauamts", "Die Kosten tragen"),  # X, role, sagte: „...“
        ("Jonas Brandt", "Sprecher des Bauamts", "Das wird noch"),  # „...“, sagte er: the last speaker
        ("Anna Keller", "Bürgermeisterin", "Niemand muss sich"),  # Am Dienstag sagte Keller: „...“
        ("Jonas Brandt", "Sprecher des Bauamts", "Die Händler in"),  # »...«, so Brandt
    ]
    for q in quotes:
        assert GERMAN[q.start : q.end] == q.text
        assert q.speaker_start is not None and q.speaker_end is not None


def test_french_quotes_and_speakers() -> None:
    quotes = extract_quotes(FRENCH, "french")
    assert speakers(quotes) == [
        ("Jean Dupont", "maire", "Nous allons reconstruire"),  # « ... », a déclaré le maire, Jean Dupont
        ("Jean Dupont", "maire de la ville", "Les travaux coûteront"),  # « ... », a-t-il précisé
        ("Jean Dupont", "maire de la ville", "aucune école ne"),  # Selon Dupont, « ... »
        ("Claire Martin", "ministre", "L'État paiera la"),  # X a déclaré : « ... »
    ]
    assert all(FRENCH[q.start : q.end] == q.text for q in quotes)


def test_spanish_quotes_and_speakers() -> None:
    quotes = extract_quotes(SPANISH, "es")
    assert speakers(quotes) == [
        ("Ana García", "alcaldesa", "Vamos a reconstruir"),  # «...», dijo la alcaldesa Ana García
        ("Ana García", "alcaldesa", "Las obras costarán"),  # «...», afirmó García
        ("Ana García", "alcaldesa", "ninguna escuela se"),  # Según García, «...»
        ("Juan Pérez", "portavoz del Gobierno", "El Estado pagará"),  # X, role, aseguró: «...»
    ]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        # a Spanish cue without a subject: who "dijo" is a guess
        ("spanish", "La obra empezó ayer.\n\n«Eso no es lo que se prometió a los vecinos del barrio», dijo."),
        # a pronoun with nobody named before it
        ("german", "Die Brücke ist zu.\n\n„Das wird noch einige Wochen dauern, leider“, sagte er."),
        # a pronoun after a headline: the headline's words are nobody
        ("german", "Riesiges Teleskop Nimmt Betrieb Auf\n\n„Eine gute Prüfung wird uns sicher helfen“, sagt er."),
        ("french", "Le Grand Télescope Démarre\n\n« Une bonne évaluation nous aidera beaucoup », a-t-il dit."),
    ],
)
def test_uncertain_speakers_are_left_out(language: str, text: str) -> None:
    assert all(q.speaker is None for q in extract_quotes(text, language))
    assert summarize(text, quotes=2, language=language).quotes == ()


def test_a_quote_nobody_said_is_not_a_quote() -> None:
    text = "Der Slogan „Wir schaffen das, und zwar ganz allein“ hing am Rathaus."
    assert extract_quotes(text, "german") == ()


@pytest.mark.parametrize(("language", "text"), [("german", GERMAN), ("french", FRENCH), ("spanish", SPANISH)])
def test_summaries_in_each_language_carry_a_named_key_quote(language: str, text: str) -> None:
    s = summarize(text, sentences=2, quotes=2, language=language)
    assert s.language == language and len(s.sentences) == 2
    assert s.quotes and all(
        q.speaker in {"Anna Keller", "Jonas Brandt", "Jean Dupont", "Claire Martin", "Ana García", "Juan Pérez"}
        for q in s.quotes
    )
    for q in s.quotes:  # never a quote the summary already says word for word
        assert not any(" ".join(q.text.split()[:6]) in sentence for sentence in s.sentences)


def test_french_guillemets_read_as_one_quotation_in_sentences() -> None:
    text = "« Nous allons reconstruire le pont avant l'été », a déclaré le maire, Jean Dupont, lundi à Tours."
    (sentence,) = summarize(text, sentences=1, quotes=0, language="french").sentences
    assert sentence.startswith('"Nous allons reconstruire le pont avant l\'été", a déclaré')


def test_key_quotes_stand_alone_in_each_language() -> None:
    assert not stands_alone("Aber das wird noch dauern", "german")
    assert not stands_alone("Mais nous verrons bien demain", "french")
    assert not stands_alone("Pero eso no es lo que se prometió", "spanish")
    assert stands_alone("Car sales fell by a tenth last year")  # "car" points back only in French


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Der Stadtrat hat am Dienstag den Bau einer Flutmauer beschlossen.", "german"),
        ("Le conseil municipal a voté mardi la construction d'une digue.", "french"),
        ("El ayuntamiento aprobó el martes la construcción de un muro.", "spanish"),
        ("The council voted on Tuesday to build a flood wall.", "english"),
        (GERMAN, "german"),
        (FRENCH, "french"),
        (SPANISH, "spanish"),
        ("Too short to tell", "english"),
        ("12345 67890 ### !!! 2024-01-01 ??? 42 17 99 100", "english"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_language_names() -> None:
    assert language_name("de") == "german" and language_name(" French ") == "french"
    with pytest.raises(ValueError, match="unsupported language 'klingon'"):
        language_name("klingon")
