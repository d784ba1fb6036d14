"""What the FilterSets of every list share, and how a console page reads one.

Each list (alerts, rules, events, deliveries) has one FilterSet in its app's `filters.py`. The API
uses it through DRF's DjangoFilterBackend: a bad value is a 400 naming the filter. The console page
uses the same class through :meth:`ListFilterSet.for_console`: old query names from bookmarks are
renamed first (each FilterSet lists its own, in `aliases`), and bad values are ignored, as a page's
form always has, so a hand-edited URL never ends in an error page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django_filters.constants import EMPTY_VALUES
from drf_spectacular.drainage import set_override

from alertsite.ids import MAX_ID
from alertsite.timeranges import TIME_RANGE_CHOICES, TIME_RANGES


def _document(filter_: django_filters.Filter, schema: dict[str, Any]) -> None:
    """The filter's OpenAPI schema, for filters whose type drf-spectacular cannot tell from the model."""
    set_override(filter_, "field", {**schema, "description": str(filter_.extra.get("help_text") or "")})


class MultipleValueWidget(forms.Widget):
    """`?status=open,acknowledged` and `?status=open&status=acknowledged` alike: the API's comma
    form and the console's checkboxes give the same list."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str] | None:
        if name not in data:
            return None
        values = data.getlist(name) if hasattr(data, "getlist") else data[name]
        if not isinstance(values, list | tuple):
            values = [values]
        return [part for value in values for part in str(value).split(",")]


class MultipleChoiceField(forms.Field):
    """One or more values, each one of `choices`; empty items ("open," or a lone comma) are ignored."""

    widget = MultipleValueWidget

    def __init__(self, *, choices: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.allowed = [str(value) for value, _ in choices]

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        values = [value] if isinstance(value, str) else list(value)
        return [item.strip() for item in values if isinstance(item, str) and item.strip()]

    def validate(self, value: list[str]) -> None:
        unknown = [item for item in value if item not in self.allowed]
        if unknown:
            raise forms.ValidationError(
                f"Unknown value(s) {', '.join(item[:50] for item in unknown)}; use {', '.join(self.allowed)}.",
                code="invalid_choice",
            )

    def valid_items(self, values: list[str]) -> list[str]:
        """The known values among `values` (the console keeps these and drops the rest)."""
        return [item for item in self.to_python(values) if item in self.allowed]


class MultipleChoiceFilter(django_filters.Filter):
    """`?priority=high,low` (or `?priority=high&priority=low`): rows whose field is any of the values."""

    field_class = MultipleChoiceField

    def __init__(self, *args: Any, choices: Iterable[str], **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "in")
        values = [str(choice) for choice in choices]
        super().__init__(*args, choices=[(value, value) for value in values], **kwargs)
        _document(self, {"type": "array", "items": {"type": "string", "enum": values}})


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IdFilter(django_filters.NumberFilter):
    """A row id (`?rule=12`): a whole number that fits a bigint, anything else is a bad value."""

    field_class = IdField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _document(self, {"type": "integer"})


class TimeRangeFilter(django_filters.ChoiceFilter):
    """`?range=24h`: rows whose `field_name` falls in the last hour, 24 hours, 7, 15 or 30 days."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", TIME_RANGE_CHOICES)
        kwargs.setdefault("help_text", f"One of {', '.join(TIME_RANGES)}: that long ago until now.")
        super().__init__(*args, **kwargs)
        _document(self, {"type": "string", "enum": list(TIME_RANGES)})

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if value in EMPTY_VALUES:
            return qs
        return qs.filter(**{f"{self.field_name}__gte": timezone.now() - TIME_RANGES[value]})


class ListFilterSet(django_filters.FilterSet):
    """A FilterSet that serves a console page as well as the API (see the module docstring)."""

    #: Old console query names (bookmarks) and the filter each one now is. The one place they are spelled.
    aliases: ClassVar[dict[str, str]] = {}
    #: What the console page filters by when the query does not say (the API has no defaults).
    console_defaults: ClassVar[dict[str, str]] = {}

    @classmethod
    def rename_aliases(cls, data: QueryDict) -> None:
        """Rename the old query names in `data` (mutable) to the filter names; a new name given too wins."""
        for old, new in cls.aliases.items():
            if old in data:
                values = data.pop(old)
                if new not in data:
                    data.setlist(new, values)

    @classmethod
    def for_console(cls, query: QueryDict, *, queryset: QuerySet, request: HttpRequest | None = None) -> Self:
        """The FilterSet over `query` as a console page reads it: aliases renamed, the page's defaults
        filled in, and bad values left out (of a multiple-choice filter only the bad items), so that
        `.qs` never raises and links built from it carry only what was applied."""
        data = query.copy()
        cls.rename_aliases(data)
        for _ in range(len(cls.base_filters) + 1):
            for name, value in cls.console_defaults.items():
                if name not in data:
                    data[name] = value
            filterset = cls(data, queryset=queryset, request=request)
            if filterset.is_valid():
                return filterset
            for name in filterset.errors:
                field = filterset.form.fields.get(name)
                if isinstance(field, MultipleChoiceField):
                    kept = field.valid_items(field.widget.value_from_datadict(data, None, name) or [])
                    data.setlist(name, [",".join(kept)])
                else:
                    data.pop(name, None)
        raise AssertionError(f"{cls.__name__}: console values still invalid after dropping the bad ones")

    def console_values(self) -> dict[str, Any]:
        """Each applied filter's value as the page's form shows it: a list for multiple-choice filters,
        else the text given ("" for a filter not applied, such as `enabled=maybe`)."""
        self.is_valid()
        values: dict[str, Any] = {}
        for name in self.filters:
            field = self.form.fields[name]
            if isinstance(field, MultipleChoiceField):
                values[name] = field.to_python(field.widget.value_from_datadict(self.data, None, name))
            elif self.form.cleaned_data.get(name) in EMPTY_VALUES:
                values[name] = ""
            else:
                values[name] = self.data.get(name, "").strip()
        return values

    def console_query(self, **changes: Any) -> str:
        """The query string of this page's filters (the FilterSet's names), with `changes` applied.

        A value equal to the page's default is left out (the page falls back to it anyway); an empty
        value is kept only where the page has a default, since there it means "no filter" (`status=`).
        """
        values = {**self.console_values(), **changes}
        pairs: list[tuple[str, Any]] = []
        for name, value in values.items():
            text = ",".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
            default = self.console_defaults.get(name)
            if text == default or (not text and default is None):
                continue
            pairs.append((name, text))
        return urlencode(pairs)
