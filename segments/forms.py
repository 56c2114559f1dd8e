"""The dashboard's segment form: name, kind, description and the definition as JSON.

The service validates; its errors keyed by path (`definition.rules[2].value`) are shown on
the definition field, each prefixed with its path so the person can find the rule.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from segments.definition import EXAMPLE_JSON, FIELD_OPS
from segments.models import Segment, SegmentKind

DEFINITION_HELP = (
    'A JSON tree: {"op": "and" or "or", "rules": [rules or groups]}; a rule is '
    '{"field", "op", "value"}. Fields: '
    + "; ".join(f"{field} ({'/'.join(ops)})" for field, ops in FIELD_OPS.items())
    + ". attribute also takes a key, purchase_total a currency, survey_category an optional "
    "survey_kind. Static lists leave this empty."
)


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=SegmentKind.choices, initial=SegmentKind.DYNAMIC)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    definition = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "code"}),
        help_text=DEFINITION_HELP,
        initial=EXAMPLE_JSON,
    )

    def clean_definition(self) -> Any:
        text = self.cleaned_data["definition"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}.") from None

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for path, messages in errors.items():
            field = path.split(".", 1)[0].split("[", 1)[0]
            if field not in self.fields:
                field = None  # type: ignore[assignment]
            for message in messages:
                shown = message if path == field else f"{path}: {message}"
                self.add_error(field, shown)

    @staticmethod
    def initial_for(segment: Segment) -> dict[str, Any]:
        return {
            "name": segment.name,
            "kind": segment.kind,
            "description": segment.description,
            "definition": json.dumps(segment.definition, indent=2) if segment.is_dynamic else "",
        }
