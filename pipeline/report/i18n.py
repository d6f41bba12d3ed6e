"""The words of the impact report, in Dutch (default) and English.

Kept apart from the template so a translator edits one dictionary and the layout stays one file.
Strings with ``{name}`` are filled in by the template with ``.format``.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Gemeenschapskracht in verhalen van bewoners",
        "lead": (
            "Kijk breder naar waarde: niet alleen naar hoeveel mensen meedoen, maar ook naar wat "
            "er verandert: meer contact, meer vertrouwen, meer initiatief en betere samenwerking. "
            "Dit rapport telt hoe vaak bewoners daarover vertellen en laat hun eigen woorden zien."
        ),
        "selection": "Selectie",
        "all_collections": "alle collecties",
        "all_neighbourhoods": "alle wijken",
        "whole_period": "hele periode",
        "collection": "collectie",
        "neighbourhood": "wijk",
        "period": "periode",
        "generated": "Gemaakt op {date}",
        "kpi_documents": "verhalen en interviews",
        "kpi_segments": "bewonersfragmenten",
        "kpi_coded": "van de fragmenten noemt minstens één thema",
        "kpi_reviewed": "van de coderingen door mensen beoordeeld",
        "how_to_read": (
            "Zo lees je de cijfers: een percentage is het aandeel bewonersfragmenten waarin een "
            "thema voorkomt. Een fragment kan meerdere thema's hebben, dus de percentages tellen "
            "niet op tot 100%. Vragen van interviewers tellen niet mee."
        ),
        "toc": "Inhoud",
        "overview": "Thema's in één oogopslag",
        "overview_note": (
            "Lengte van de balk: aandeel bewonersfragmenten met het thema. Kleur: hoe bewoners "
            "erover vertellen. Rechts: in hoeveel documenten het thema voorkomt."
        ),
        "positive": "positief",
        "mixed": "gemengd",
        "neutral": "neutraal",
        "negative": "negatief",
        "positive_long": "positief: aanwezig of beter geworden",
        "mixed_long": "gemengd: eerst niet, nu wel (of andersom)",
        "neutral_long": "neutraal: genoemd zonder oordeel",
        "negative_long": "negatief: ontbreekt of een probleem",
        "docs_word": "documenten",
        "comparison": "Vergelijking tussen collecties",
        "comparison_note": (
            "Aandeel bewonersfragmenten met het thema per collectie (zelfde wijk en periode). "
            "Kleine collecties geven grillige percentages; kijk ook naar het aantal fragmenten."
        ),
        "comparison_selected": "De gekozen collectie is omkaderd.",
        "trend": "Ontwikkeling in de tijd",
        "trend_note": (
            "Aandeel bewonersfragmenten met het thema per {unit}, naar de datum van het verhaal "
            "of interview. Aantal fragmenten per {unit}: {counts}."
        ),
        "quarter": "kwartaal",
        "year": "jaar",
        "undated": "{n} document(en) zonder datum tellen niet mee in de tijdlijn.",
        "no_trend": "Te weinig gedateerde verhalen voor een tijdlijn.",
        "cooccurrence": "Thema's die samen voorkomen",
        "cooccurrence_note": (
            "Aantal bewonersfragmenten waarin beide thema's voorkomen; op de grijze diagonaal het "
            "totaal per thema. Hoe donkerder, hoe vaker twee thema's samen voorkomen: zo zie je "
            "welke opbrengsten samen optreden, bijvoorbeeld ontmoeting en netwerken."
        ),
        "no_cooccurrence": "Te weinig thema's gevonden om samenhang te tonen.",
        "theme_share": "van de fragmenten",
        "theme_docs": "in {d} van {n} documenten",
        "theme_segments": "{n} fragmenten",
        "theme_none": "Niet gevonden in deze selectie.",
        "machine_only": "alleen machinecodering",
        "machine_only_title": (
            "Nog door geen mens gecontroleerd: lees dit cijfer als een indicatie."
        ),
        "human_share": "{h} van {n} fragmenten door mensen beoordeeld",
        "quotes": "In de woorden van bewoners",
        "quote_human": "bevestigd door beoordelaar",
        "quote_machine": "machinecodering",
        "trend_group": (
            "Ontwikkeling per {unit}: aandeel bewonersfragmenten met het thema, naar de datum "
            "van het verhaal; n = aantal fragmenten in dat {unit}."
        ),
        "provenance": "Waar de cijfers op rusten",
        "prov_codebook": "Codeboek",
        "prov_codebook_value": "{name}, versie {version} (hash {hash})",
        "prov_codebook_tags": "Versies van het codeboek in de coderingen",
        "prov_sources": "Coderingsbronnen (aantal coderingen per bron)",
        "prov_nlp": "Taalmodel bij het coderen",
        "prov_review": "Menselijke beoordeling",
        "prov_review_value": (
            "{reviewed} van {segments} bewonersfragmenten beoordeeld; {human} van {final} "
            "coderingen in dit rapport komen van mensen, de rest is machinecodering."
        ),
        "prov_machine_only": (
            "Nog geen menselijke beoordeling: alle cijfers in dit rapport zijn machinecodering. "
            "Lees ze als een eerste indicatie."
        ),
        "prov_agreement": "Overeenstemming per thema",
        "prov_agreement_note": (
            "Van de beoordeelde fragmenten waar iemand het thema gaf: het aandeel waar ook de "
            "ander(en) het gaven. Tussen haakjes het aantal fragmenten."
        ),
        "prov_between_humans": "tussen beoordelaars",
        "prov_machine_human": "mens en machine",
        "prov_no_agreement": "Nog geen beoordelingen om overeenstemming te berekenen.",
        "prov_unknown": "Codes die niet in dit codeboek staan (niet meegeteld): {codes}",
        "prov_privacy": (
            "Alle citaten zijn gepseudonimiseerd: namen, adressen en andere herleidbare gegevens "
            "zijn vervangen. Documenten staan als korte verwijzing (doc …) die onderzoekers in de "
            "bijbehorende tabel terugvinden."
        ),
        "theme": "Thema",
        "segments": "fragmenten",
        "documents": "documenten",
        "footer": "Gemaakt met kracht {version}. Tabellen voor onderzoekers: CSV, XLSX en "
                  "REFI-QDA (.qdpx) naast dit bestand.",
        "chart_overview": "Aandeel bewonersfragmenten per thema, naar polariteit",
        "chart_comparison": "Aandeel fragmenten per thema en collectie",
        "chart_cooccurrence": "Samen voorkomende thema's",
        "chart_trend": "Ontwikkeling van {group} in de tijd",
        "chart_polarity": "Polariteit van {theme}",
        "empty": "Er zijn nog geen bewonersfragmenten in deze selectie.",
        "highlights": "Wat opvalt",
        "highlight_top": "{label}: in {share} van de bewonersfragmenten ({d} van {n} documenten)",
        "highlight_negative": (
            "Aandachtspunt, {label}: {neg} van de {total} keer negatief (ontbreekt of is een "
            "probleem)"
        ),
        "unknown_version": "onbekende versie",
        "trend_counts": "n = {n}",
        "trend_skipped": (
            "Een {unit} met minder dan {min} fragmenten ({n}×) staat niet in de lijnen: te "
            "weinig verhalen voor een betrouwbaar percentage."
        ),
    },
    "en": {
        "title": "Community strength in residents' stories",
        "lead": (
            "Look wider at value: not only at how many people take part, but at what changes: "
            "more contact, more trust, more initiative and better collaboration. This report "
            "counts how often residents speak about it and shows their own words."
        ),
        "selection": "Selection",
        "all_collections": "all collections",
        "all_neighbourhoods": "all neighbourhoods",
        "whole_period": "whole period",
        "collection": "collection",
        "neighbourhood": "neighbourhood",
        "period": "period",
        "generated": "Generated on {date}",
        "kpi_documents": "stories and interviews",
        "kpi_segments": "resident segments",
        "kpi_coded": "of segments mention at least one theme",
        "kpi_reviewed": "of codings reviewed by people",
        "how_to_read": (
            "How to read the figures: a percentage is the share of resident segments in which a "
            "theme occurs. A segment can carry several themes, so percentages do not add up to "
            "100%. Interviewer questions are not counted."
        ),
        "toc": "Contents",
        "overview": "Themes at a glance",
        "overview_note": (
            "Bar length: share of resident segments with the theme. Colour: how residents speak "
            "about it. Right: in how many documents the theme occurs."
        ),
        "positive": "positive",
        "mixed": "mixed",
        "neutral": "neutral",
        "negative": "negative",
        "positive_long": "positive: present or improving",
        "mixed_long": "mixed: not before, now yes (or the other way round)",
        "neutral_long": "neutral: mentioned without valence",
        "negative_long": "negative: lacking or a problem",
        "docs_word": "documents",
        "comparison": "Comparison across collections",
        "comparison_note": (
            "Share of resident segments with the theme per collection (same neighbourhood and "
            "period). Small collections give erratic shares; check the number of segments too."
        ),
        "comparison_selected": "The chosen collection is outlined.",
        "trend": "Change over time",
        "trend_note": (
            "Share of resident segments with the theme per {unit}, by the date of the story or "
            "interview. Segments per {unit}: {counts}."
        ),
        "quarter": "quarter",
        "year": "year",
        "undated": "{n} document(s) without a date are left out of the timeline.",
        "no_trend": "Too few dated stories for a timeline.",
        "cooccurrence": "Themes that occur together",
        "cooccurrence_note": (
            "Number of resident segments in which both themes occur; the grey diagonal holds the "
            "total per theme. The darker, the more often two themes occur together."
        ),
        "no_cooccurrence": "Too few themes found to show how they relate.",
        "theme_share": "of segments",
        "theme_docs": "in {d} of {n} documents",
        "theme_segments": "{n} segments",
        "theme_none": "Not found in this selection.",
        "machine_only": "machine coding only",
        "machine_only_title": "Not yet checked by a person: read this figure as an indication.",
        "human_share": "{h} of {n} segments reviewed by people",
        "quotes": "In residents' words",
        "quote_human": "confirmed by a reviewer",
        "quote_machine": "machine coding",
        "trend_group": (
            "Change per {unit}: share of resident segments with the theme, by the date of the "
            "story; n = segments in that {unit}."
        ),
        "provenance": "What the figures rest on",
        "prov_codebook": "Codebook",
        "prov_codebook_value": "{name}, version {version} (hash {hash})",
        "prov_codebook_tags": "Codebook versions in the codings",
        "prov_sources": "Coding sources (codings per source)",
        "prov_nlp": "Language pipeline used for coding",
        "prov_review": "Human review",
        "prov_review_value": (
            "{reviewed} of {segments} resident segments reviewed; {human} of {final} codings in "
            "this report come from people, the rest is machine coding."
        ),
        "prov_machine_only": (
            "No human review yet: every figure in this report is machine coding. Read them as a "
            "first indication."
        ),
        "prov_agreement": "Agreement per theme",
        "prov_agreement_note": (
            "Of the reviewed segments where someone gave the theme: the share where the other(s) "
            "gave it too. Number of segments in brackets."
        ),
        "prov_between_humans": "between reviewers",
        "prov_machine_human": "human and machine",
        "prov_no_agreement": "No reviews yet to compute agreement.",
        "prov_unknown": "Codes not in this codebook (not counted): {codes}",
        "prov_privacy": (
            "All quotes are pseudonymized: names, addresses and other identifying details are "
            "replaced. Documents appear as a short reference (doc …) that researchers find in the "
            "accompanying table."
        ),
        "theme": "Theme",
        "segments": "segments",
        "documents": "documents",
        "footer": "Made with kracht {version}. Tables for researchers: CSV, XLSX and REFI-QDA "
                  "(.qdpx) next to this file.",
        "chart_overview": "Share of resident segments per theme, by polarity",
        "chart_comparison": "Share of segments per theme and collection",
        "chart_cooccurrence": "Themes occurring together",
        "chart_trend": "Change of {group} over time",
        "chart_polarity": "Polarity of {theme}",
        "empty": "There are no resident segments in this selection yet.",
        "highlights": "What stands out",
        "highlight_top": "{label}: in {share} of resident segments ({d} of {n} documents)",
        "highlight_negative": (
            "Point of attention, {label}: negative in {neg} of {total} mentions (lacking or a "
            "problem)"
        ),
        "unknown_version": "unknown version",
        "trend_counts": "n = {n}",
        "trend_skipped": (
            "A {unit} with fewer than {min} segments ({n}×) is left out of the lines: too few "
            "stories for a reliable share."
        ),
    },
}


def texts(lang: str) -> dict[str, str]:
    """The words for ``lang`` (``nl`` or ``en``); unknown languages fall back to Dutch."""
    return TEXTS.get(lang, TEXTS["nl"])


def period_label(period: str, lang: str) -> str:
    """``2025-K2`` as the reader's language writes it (``2025 Q2`` in English)."""
    if "-K" in period:
        year, q = period.split("-K")
        return f"{year} {'Q' if lang == 'en' else 'K'}{q}"
    return period
