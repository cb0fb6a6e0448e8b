"""``[[subscriptions]]`` and ``newsbrief subs add``: one subscription validated the same way wherever it comes from
(:func:`check_subscription`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.errors import UsageError
from bot.schedules import DEFAULT_SCHEDULE, DEFAULT_TZ, ScheduleError, check_tz, parse_schedule

if TYPE_CHECKING:
    from bot.briefing import Template

__all__ = ["PLATFORMS", "Known", "SubscriptionConfig", "SubscriptionError", "check_subscription", "parse_sources"]

PLATFORMS = frozenset({"console", "slack", "discord"})
"""Where a subscription can post."""


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """One validated ``[[subscriptions]]`` entry (``schedule`` normalized, e.g. "daily 08:00"; ``sources`` as
    :func:`parse_sources` gives them, empty: the whole archive)."""

    platform: str
    channel: str
    topic: str
    schedule: str
    tz: str
    sources: tuple[str, ...] = ()
    template: str | None = None
    """The message template's name (``None``: full)."""
    mode: Literal["digest", "items"] = "digest"
    """``items``: each new matching article posted on its own (:mod:`bot.items`) instead of digests."""


class SubscriptionError(UsageError, ValueError):
    """A subscription field that is not valid: ``key`` names it ("platform", "topic", "schedule"...), ``problem``
    says what is wrong (one line). The config names it as a key path, the CLI as an option."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def parse_sources(text: str) -> tuple[str, ...]:
    """The sources of ``sources=``: comma-separated feed ids (``3``, ``#3``) and ``tag:NAME``, as ``("3",
    "tag:NAME")``, each once; :class:`bot.errors.UsageError` otherwise. Whether they exist is
    :func:`bot.commands.unknown_sources`'s."""
    sources: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if part.lower().startswith("tag:") and part[4:].strip():
            source = f"tag:{part[4:].strip()}"
        elif part.lstrip("#").isdigit() and int(part.lstrip("#")) > 0:
            source = str(int(part.lstrip("#")))
        else:
            raise UsageError(f"sources: {part!r} is neither a feed id (see /brief feeds) nor tag:NAME")
        if source not in sources:
            sources.append(source)
    return tuple(sources)


class Known(Protocol):
    """What a subscription is checked against: the configured topics and templates (:class:`Settings` has them)."""

    @property
    def topics(self) -> Mapping[str, str]: ...

    @property
    def templates(self) -> Mapping[str, Template]: ...


def check_subscription(
    settings: Known,
    *,
    platform: str,
    channel: str,
    topic: str,
    schedule: str | None = None,
    tz: str | None = None,
    sources: str | None = None,
    template: str | None = None,
    mode: str | None = None,
) -> SubscriptionConfig:
    """One subscription validated the same way wherever it comes from (``[[subscriptions]]``, ``newsbrief subs
    add``): a known platform, a channel, a configured topic (matched case-insensitively, as in chat, and given its
    configured name), a schedule of the chat grammar (default :data:`bot.schedules.DEFAULT_SCHEDULE`, normalized)
    and an IANA time zone (default :data:`bot.schedules.DEFAULT_TZ`), and ``sources`` as in chat (``3,7`` or
    ``tag:world``; whether they name feeds is the caller's to check, against the store), ``template`` a built-in
    template or one of the config's ``[templates]`` (:attr:`Settings.templates`), ``mode`` "digest" (default) or
    "items" (which takes no schedule). :class:`SubscriptionError` names the field at fault."""
    topics, templates = settings.topics, settings.templates
    # The briefing package imports the store, which must not load with the config: imported when used.
    from bot.briefing._template import resolve_template, template_names

    platform, channel, topic = platform.strip(), channel.strip(), topic.strip()
    if platform not in PLATFORMS:
        raise SubscriptionError("platform", f"expected one of {', '.join(sorted(PLATFORMS))}, got {platform!r}")
    if not channel:
        raise SubscriptionError("channel", "expected a channel id")
    name = next((known for known in topics if known.casefold() == topic.casefold()), None)
    if name is None:
        known = ", ".join(sorted(topics)) or "none configured"
        raise SubscriptionError("topic", f"unknown topic {topic!r} (topics: {known})")
    try:
        schedule_text = parse_schedule(schedule if schedule is not None else DEFAULT_SCHEDULE).text
    except ScheduleError as exc:
        raise SubscriptionError("schedule", exc.problem) from None
    try:
        tz = check_tz((tz if tz is not None else DEFAULT_TZ).strip())
    except ScheduleError as exc:
        raise SubscriptionError("tz", exc.problem) from None
    try:
        chosen = parse_sources(sources) if sources is not None else ()
    except UsageError as exc:
        raise SubscriptionError("sources", exc.problem.removeprefix("sources: ")) from None
    chosen_mode: Literal["digest", "items"] = "digest"
    if mode is not None:
        if mode.strip().lower() not in ("digest", "items"):
            raise SubscriptionError("mode", f"expected digest or items, got {mode!r}")
        chosen_mode = "items" if mode.strip().lower() == "items" else "digest"
        if chosen_mode == "items" and schedule is not None:
            raise SubscriptionError("schedule", "items mode posts each article as it comes: it takes no schedule")
    template_name: str | None = None
    if template is not None:
        template_name = template.strip().lower()
        if resolve_template(template_name, templates) is None:
            names = ", ".join(template_names(templates))
            raise SubscriptionError("template", f"unknown template {template!r} (templates: {names})")
    return SubscriptionConfig(
        platform=platform,
        channel=channel,
        topic=name,
        schedule=schedule_text,
        tz=tz,
        sources=chosen,
        template=template_name,
        mode=chosen_mode,
    )


def sources_text(value: Any) -> str | None:
    """A ``[[subscriptions]]`` entry's ``sources`` (a list of feed ids and "tag:NAME") as :func:`parse_sources`
    reads them; ``ValueError`` when it is not such a list."""
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or not value
        or any(isinstance(s, bool) for s in value)
        or not all(isinstance(s, int | str) for s in value)
    ):
        raise ValueError(f'expected a list of feed ids and "tag:NAME" such as [3, 7] or ["tag:world"], got {value!r}')
    return ",".join(str(s) for s in value)
