"""Message templates (api.md §11): a channel's own wording, in Django's template language, sandboxed.

Why a sandbox: whoever may edit a channel writes these templates, and they are rendered by the
workers. So the engine here has no loaders (no `include`/`extends` reaching files), no `load`,
`debug`, `url`, `csrf_token` or `querystring`, and only filters whose output stays small; the
context is plain data copied out of the notification (`alert`, `rule`, `event`, `transition`, `reminder`:
dicts, lists and scalars, never model instances), so a template cannot reach the database,
settings or secrets. Names starting with `_` are refused by Django itself.

Each transport declares the fields of its `config.template` and what each must render to
(`Transport.template_fields`); this module checks them at save time against sample notifications
and renders them when sending.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.utils.safestring import SafeString, mark_safe

from channels.notification import Notification, TransitionInfo, sample_notification

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_TEMPLATE_BYTES = 64 * 1024
MAX_OUTPUT_CHARS = 256 * 1024
MAX_LINE = 200

ALLOWED_TAGS = (
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)
# Left out: pprint (reprs), json_script (HTML), and the padders and formatters whose argument
# sets the output's size (center, ljust, rjust, stringformat, floatformat, lorem): a template
# must not make a worker build a gigabyte string.
ALLOWED_FILTERS = (
    "add",
    "addslashes",
    "capfirst",
    "cut",
    "date",
    "default",
    "default_if_none",
    "dictsort",
    "dictsortreversed",
    "divisibleby",
    "escape",
    "escapejs",
    "escapeseq",
    "filesizeformat",
    "first",
    "force_escape",
    "get_digit",
    "iriencode",
    "join",
    "last",
    "length",
    "linebreaks",
    "linebreaksbr",
    "linenumbers",
    "lower",
    "make_list",
    "phone2numeric",
    "pluralize",
    "random",
    "safe",
    "safeseq",
    "slice",
    "slugify",
    "striptags",
    "time",
    "timesince",
    "timeuntil",
    "title",
    "truncatechars",
    "truncatechars_html",
    "truncatewords",
    "truncatewords_html",
    "unordered_list",
    "upper",
    "urlencode",
    "urlize",
    "urlizetrunc",
    "wordcount",
    "wordwrap",
    "yesno",
)


def json_filter(value: Any) -> SafeString:
    """`{{ alert.title|json }}` -> `"Failed \\"admin\\" logins"`: any value as a JSON literal."""
    return mark_safe(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode())


def _sandbox_library() -> Library:
    library = Library()
    for name in ALLOWED_TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    for name in ALLOWED_FILTERS:
        library.filters[name] = defaultfilters.register.filters[name]
    library.filter("json", json_filter, is_safe=True)
    return library


class SandboxEngine(Engine):
    """An engine whose only built-ins are the allowed tags and filters, and which loads nothing."""

    default_builtins = []  # Engine's own class attribute, emptied: no default tags

    def __init__(self) -> None:
        super().__init__(loaders=[("django.template.loaders.locmem.Loader", {})], debug=True, autoescape=False)

    def get_template_builtins(self, builtins: list[str]) -> list[Library]:
        return [SANDBOX]

    def get_template_libraries(self, libraries: dict[str, str]) -> dict[str, Library]:
        return {}


SANDBOX = _sandbox_library()
_engine: SandboxEngine | None = None


def engine() -> SandboxEngine:
    global _engine
    if _engine is None:
        _engine = SandboxEngine()
    return _engine


@dataclass(frozen=True)
class TemplateField:
    """One field of a kind's `config.template` and what it must render to:
    `text` (any text), `line` (one line, e.g. a subject) or `json` (a valid JSON document).
    `autoescape` HTML-escapes every value (for a kind whose field is HTML); JSON fields use the
    `json` filter instead, plain text needs neither."""

    output: str = "text"
    label: str = ""
    autoescape: bool = False


# The one field of chat kinds (slack, teams: api.md §11): `config.template.text`, their message text.
CHAT_TEXT_FIELDS = {"text": TemplateField("text", "Message text")}


class TemplateProblem(Exception):
    """Why a template cannot be used: a message naming the line and the cause."""


def _where(exc: BaseException) -> str:
    debug = getattr(exc, "template_debug", None)
    return f"Line {debug['line']}: " if isinstance(debug, dict) and debug.get("line") else ""


@functools.lru_cache(maxsize=256)
def compiled(source: str) -> Template:
    """The template compiled once per process (a channel's deliveries all share it)."""
    try:
        return engine().from_string(source)
    except TemplateSyntaxError as exc:
        message = str(exc).replace(
            " Did you forget to register or load this tag?",
            " Message templates offer: " + ", ".join(ALLOWED_TAGS) + ".",
        )
        raise TemplateProblem(f"{_where(exc)}{message}") from None


def context_of(notification: Notification, *, delivery_id: str = "", sent_at: str = "") -> dict[str, Any]:
    """What a template sees: a fresh copy of the notification's plain data, nothing else."""
    body = notification.as_json()
    transition = notification.transition
    data = {
        "type": notification.kind,
        "alert": body.get("alert"),
        "rule": notification.rule.as_json(),
        "event": body.get("event"),
        "transition": transition.as_json() if transition is not None else None,
        "reminder": body.get("reminder"),
        "delivery_id": delivery_id,
        "sent_at": sent_at,
    }
    return orjson.loads(orjson.dumps(data, default=str))  # a copy: a template calling dict.clear() harms nothing


def render_field(source: str, field: TemplateField, context: dict[str, Any]) -> str:
    """Render one field; TemplateProblem naming the line and cause when it cannot be."""
    template = compiled(source)
    try:
        output = str(template.render(Context(context, autoescape=field.autoescape)))
    except TemplateProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - a template may raise anything; it becomes an error message
        raise TemplateProblem(f"{_where(exc)}{exc.__class__.__name__}: {exc}") from None
    if len(output) > MAX_OUTPUT_CHARS:
        raise TemplateProblem(f"Renders to more than {MAX_OUTPUT_CHARS // 1024} KiB.")
    if field.output == "line":
        output = " ".join(output.split())[:MAX_LINE]
    elif field.output == "json":
        try:
            orjson.loads(output.encode())  # a SafeString is no str to orjson
        except orjson.JSONDecodeError as exc:
            raise TemplateProblem(
                f"Renders invalid JSON: {exc} (use the json filter for values, e.g. {{{{ alert.title|json }}}})."
            ) from None
    return output


def template_render(
    fields: Mapping[str, TemplateField], template: dict[str, str] | None, context: dict[str, Any]
) -> dict[str, str]:
    """The rendered text of each field the channel's template sets."""
    return {name: render_field(source, fields[name], context) for name, source in (template or {}).items()}


def samples() -> list[tuple[str, Notification]]:
    """What templates are checked against at save time: a new alert, and a resolved one."""
    created = sample_notification("alert.created")
    alert = created.alert
    assert alert is not None
    resolved_alert = type(alert)(
        **{
            **{name: getattr(alert, name) for name in alert.__slots__},
            "status": "resolved",
            "transition": TransitionInfo(
                from_status="open",
                to_status="resolved",
                by={"id": 0, "username": "ana", "email": "ana@example.com"},
                at="2025-03-02T09:30:00Z",
                note="False positive: password manager retry.",
            ),
        }
    )
    resolved = Notification(kind="alert.resolved", rule=created.rule, event=created.event, alert=resolved_alert)
    return [("a new alert", created), ("a resolved alert", resolved)]


def template_clean(fields: Mapping[str, TemplateField], template: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Check a `config.template` from the API, admin or console: (stored template, errors by path).

    Empty fields are dropped (the kind's default wording applies); each other field must be
    text of at most 64 KiB that compiles in the sandbox and renders against every sample.
    """
    errors: dict[str, str] = {}
    if template in (None, "", {}):
        return {}, errors
    if not fields:
        return {}, {"config.template": "This kind of channel has no message template."}
    if not isinstance(template, dict):
        return {}, {"config.template": f"Must be an object with {', '.join(fields)}."}
    cleaned: dict[str, str] = {}
    for name in sorted(set(template) - set(fields)):
        errors[f"config.template.{name}"] = f"Unknown field: this kind's template has {', '.join(fields)}."
    for name, field in fields.items():
        source = template.get(name)
        where = f"config.template.{name}"
        if source in (None, ""):
            continue
        if not isinstance(source, str):
            errors[where] = "Must be text."
            continue
        if len(source.encode()) > MAX_TEMPLATE_BYTES:
            errors[where] = f"At most {MAX_TEMPLATE_BYTES // 1024} KiB; got {len(source.encode()) // 1024} KiB."
            continue
        try:
            compiled(source)
            for label, notification in samples():
                try:
                    render_field(source, field, context_of(notification, delivery_id="sample", sent_at="sample"))
                except TemplateProblem as exc:
                    raise TemplateProblem(f"{exc} (rendering {label})") from None
        except TemplateProblem as exc:
            errors[where] = str(exc)
            continue
        cleaned[name] = source
    return cleaned, errors
