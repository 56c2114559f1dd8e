"""QuickSelect writes the HTML Django's select templates write, escaped the same way."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms

from common.widgets import QuickSelect

pytestmark = pytest.mark.django_db

CHOICES = [
    ("", "Anyone"),
    ("1", 'Ann <b>"the boss"</b> & co'),
    ("Teams", [("2", "Bob"), ("3", "Cid")]),
]


def _tags(markup: str) -> list[tuple[str, ...]]:
    """What a browser reads from the markup: tags with their attributes in any order, and
    text, whitespace between tags dropped (the templates add some)."""
    found: list[tuple[str, ...]] = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, *sorted(f"{name}={value}" for name, value in attrs)))

        def handle_endtag(self, tag: str) -> None:
            found.append(("/" + tag,))

        def handle_data(self, data: str) -> None:
            if data.strip():
                found.append(("text", data))

    Reader().feed(markup)
    return found


class Pick(forms.Form):
    quick = forms.ChoiceField(choices=CHOICES, widget=QuickSelect, required=False)
    django = forms.ChoiceField(choices=CHOICES, widget=forms.Select, required=False)


@pytest.mark.parametrize("value", ["", "1", "3", "<nope>"])
def test_quick_select_writes_what_the_django_templates_write(value):
    form = Pick({"quick": value, "django": value})
    form.is_valid()
    quick, django = str(form["quick"]), str(form["django"])

    assert _tags(quick) == _tags(
        django.replace('name="django"', 'name="quick"')
        .replace('id="id_django"', 'id="id_quick"')
        .replace("id_django_error", "id_quick_error")
    )
    assert "<b>" not in quick
    assert "Ann &lt;b&gt;&quot;the boss&quot;&lt;/b&gt; &amp; co" in quick


def test_the_chosen_option_is_selected_and_errors_are_announced():
    form = Pick({"quick": "<nope>", "django": ""})
    assert not form.is_valid()
    quick = str(form["quick"])
    assert 'aria-invalid="true"' in quick
    assert 'aria-describedby="id_quick_error"' in quick

    chosen = str(Pick({"quick": "3"})["quick"])
    assert '<option value="3" selected>Cid</option>' in chosen
    assert '<optgroup label="Teams">' in chosen
