"""Business-time arithmetic for SLA clocks: pure functions, no database.

Times are stored in UTC; SLAs count the owning team's business hours and
holidays. A :class:`Calendar` says when a team is open in *local wall time*
(``{"mon": [["09:00", "17:00"]], ...}``); every function here turns those
wall-clock intervals into UTC ranges one local date at a time, so daylight
saving is handled by ``zoneinfo`` rather than by hand:

* a 09:00-17:00 day is 8 hours on a DST-change day too, while an interval that
  spans the jump (00:00-04:00) is an hour shorter or longer;
* a wall time that does not exist (in the spring-forward gap) means the moment
  right after the gap;
* a wall time that happens twice (fall-back) starts an interval at its first
  occurrence and ends one at its last, so the interval covers every moment
  whose clock reads inside it.

Open ranges are half-open ``[start, end)``: a team open 09:00-17:00 is closed
at 17:00 sharp. Holidays are local dates, closed all day (for an overnight
calendar that closes both of that date's intervals, 00:00-06:00 and 22:00-24:00).
Searches forward stop after ``MAX_SEARCH_DAYS`` and answer ``None``, so a
calendar that never opens cannot loop forever.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_HOURS",
    "MAX_SEARCH_DAYS",
    "Calendar",
    "add_business_seconds",
    "business_seconds_between",
    "day_ends",
    "is_open",
    "next_opening",
    "zone_or_utc",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
DEFAULT_HOURS: dict[str, list[list[str]]] = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}
MAX_SEARCH_DAYS = 366 * 2  # beyond two years a deadline is meaningless; answer None instead of looping on

MIDNIGHT = time(0)  # as an interval's end: the midnight that ends the day
ONE_DAY = timedelta(days=1)
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})")

Range = tuple[datetime, datetime]  # an open range in UTC, [start, end)


def _minutes(moment: time, *, end: bool = False) -> float:
    """Position in the day, for ordering intervals; an end at midnight is the end of the day."""
    if end and moment == MIDNIGHT:
        return 24 * 60
    return moment.hour * 60 + moment.minute + (moment.second + moment.microsecond / 1e6) / 60


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'America/New_York'") from None


def zone_or_utc(name: str) -> ZoneInfo:
    """A stored zone name as a zone; UTC for one that is not (names are checked when saved)."""
    try:
        return _zone(name)
    except ValueError:
        return ZoneInfo("UTC")


def day_ends(zone: ZoneInfo, moment: datetime) -> datetime:
    """Midnight after ``moment`` in ``zone``: the end of that local day."""
    local = moment.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone)


@dataclass(frozen=True)
class Calendar:
    """When a team is open: intervals in local wall time per weekday, minus holidays."""

    time_zone: str
    # weekday (0=Monday..6=Sunday) -> sorted, non-overlapping [start, end) intervals; end time(0) = midnight
    hours: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date] = frozenset()
    # Each local date's open UTC ranges, worked out once per calendar: a report rebuild asks a team's calendar
    # about the same few hundred dates for every one of its leads (zoneinfo conversions were a fifth of its time).
    _days: dict[date, list[Range]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checked here rather than only in from_config so a hand-built calendar cannot be silently wrong.
        _zone(self.time_zone)
        for weekday, intervals in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            day = WEEKDAYS[weekday]
            previous_end = 0.0
            for start, end in intervals:
                if end != MIDNIGHT and start >= end:
                    raise ValueError(f"{day}: {start:%H:%M}-{end:%H:%M} must start before it ends "
                                     "(end with 24:00 for midnight)")
                if _minutes(start) < previous_end:
                    raise ValueError(f"{day}: {start:%H:%M}-{end:%H:%M} overlaps the interval before it "
                                     "(intervals must be sorted and must not overlap)")
                previous_end = _minutes(end, end=True)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # ZoneInfo caches instances, so this is cheap

    @classmethod
    def from_config(cls, *, time_zone: str, hours: dict[str, list[list[str]]],
                    holidays: Iterable[date | str] = ()) -> Calendar:
        """From stored JSON: ``{"mon": [["09:00", "17:00"]], ...}``; a missing day is closed.

        Raises ``ValueError`` with a message fit for a form on any bad input.
        """
        _zone(time_zone)
        if not isinstance(hours, Mapping):
            raise ValueError('business hours must be an object such as {"mon": [["09:00", "17:00"]]}')
        parsed: dict[int, list[tuple[time, time]]] = {}
        for key, intervals in hours.items():
            if key not in WEEKDAYS:
                raise ValueError(f"unknown weekday {key!r}; use {', '.join(WEEKDAYS)}")
            if not isinstance(intervals, (list, tuple)):
                raise ValueError(f'{key}: expected a list of ["HH:MM", "HH:MM"] intervals')
            day: list[tuple[time, time]] = []
            for interval in intervals:
                if not isinstance(interval, (list, tuple)) or len(interval) != 2:
                    raise ValueError(f'{key}: each interval must be ["HH:MM", "HH:MM"], got {interval!r}')
                day.append((_parse_time(key, interval[0], end=False), _parse_time(key, interval[1], end=True)))
            # Sorting forgives the order people type intervals in; overlaps are still refused (in __post_init__).
            day.sort(key=lambda interval: _minutes(interval[0]))
            parsed[WEEKDAYS.index(key)] = day
        return cls(time_zone=time_zone, hours=parsed, holidays=frozenset(_parse_date(value) for value in holidays))

    @classmethod
    def always_open(cls, time_zone: str = "UTC") -> Calendar:
        """24x7, no holidays: business time is elapsed time."""
        return cls(time_zone=time_zone, hours={weekday: [(MIDNIGHT, MIDNIGHT)] for weekday in range(7)})


def _parse_time(day: str, text: object, *, end: bool) -> time:
    match = _TIME_TEXT.fullmatch(text) if isinstance(text, str) else None
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if end and (hour, minute) == (24, 0):
        return MIDNIGHT  # "24:00" and "00:00" as an end both mean the midnight that ends the day
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        allowed = "HH:MM from 00:00 to 24:00" if end else "HH:MM from 00:00 to 23:59"
        raise ValueError(f"{day}: {text!r} is not a time of day ({allowed})")
    return time(hour, minute)


def _parse_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"holiday {value!r} is not a date (YYYY-MM-DD)") from None


# --- wall time to UTC -------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} must be timezone-aware")
    return moment.astimezone(UTC)


def _wall_to_utc(day: date, wall: time, zone: ZoneInfo, *, fold: int) -> datetime:
    """The UTC moment a local wall time names; ``fold`` picks the occurrence of a repeated time."""
    local = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold)
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0):
        return moment
    # The wall time falls in a spring-forward gap and never happens: use the first moment after the
    # gap, i.e. the transition. PEP 495 maps a gap time with the offsets before and after the jump to
    # two moments that straddle it; bisect between them (zoneinfo has no public transition list).
    before, after = sorted((local.replace(fold=0).astimezone(UTC), local.replace(fold=1).astimezone(UTC)))
    new_offset = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())  # tzdata transitions fall on whole seconds
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _day_ranges(calendar: Calendar, zone: ZoneInfo, day: date) -> list[Range]:
    """The open UTC ranges of one local date, in order and disjoint (kept on the calendar: do not change them)."""
    ranges = calendar._days.get(day)
    if ranges is None:
        ranges = calendar._days[day] = _day_ranges_of(calendar, zone, day)
    return ranges


def _day_ranges_of(calendar: Calendar, zone: ZoneInfo, day: date) -> list[Range]:
    if day in calendar.holidays:
        return []
    ranges: list[Range] = []
    for start, end in calendar.hours.get(day.weekday(), ()):
        opens = _wall_to_utc(day, start, zone, fold=0)  # a repeated start: its first occurrence
        if end == MIDNIGHT:
            # Midnight is the next date's 00:00, taken exactly as that date's own 00:00 start is, so
            # 22:00-24:00 and the next day's 00:00-06:00 meet without a gap or an overlap.
            closes = _wall_to_utc(day + ONE_DAY, MIDNIGHT, zone, fold=0)
        else:
            closes = _wall_to_utc(day, end, zone, fold=1)  # a repeated end: its last occurrence
        if opens >= closes:
            continue  # wholly inside a spring-forward gap: never open
        if ranges and opens <= ranges[-1][1]:
            # Fall-back can make adjacent intervals overlap in UTC (first 01:30 vs last 01:30): merge.
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], closes))
        else:
            ranges.append((opens, closes))
    return ranges


def _ranges(calendar: Calendar, moment: datetime, days: int) -> Iterator[Range]:
    """Open ranges in time order, from the local date before ``moment``'s for ``days`` dates.

    Starting a day early costs little and catches any range of the previous date still running
    at ``moment`` (a zone that falls back across midnight repeats part of the previous date).
    """
    zone = calendar.zone
    first = moment.astimezone(zone).date() - ONE_DAY
    for offset in range(days):
        yield from _day_ranges(calendar, zone, first + timedelta(days=offset))


def _has_hours(calendar: Calendar) -> bool:
    return any(calendar.hours.values())


# --- the API ----------------------------------------------------------------------------------


def is_open(calendar: Calendar, moment: datetime) -> bool:
    """Whether ``moment`` (aware, any zone) falls in open time."""
    moment = _utc(moment)
    return any(opens <= moment < closes for opens, closes in _ranges(calendar, moment, 3))


def next_opening(calendar: Calendar, moment: datetime) -> datetime | None:
    """``moment`` itself (in UTC) if open, else the start of the next open range; None if never open."""
    moment = _utc(moment)
    if not _has_hours(calendar):
        return None
    for opens, closes in _ranges(calendar, moment, MAX_SEARCH_DAYS + 2):
        if closes > moment:
            return max(opens, moment)
    return None


def business_seconds_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Open seconds in ``[start, end)``; 0 if ``end <= start``."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    # The local dates from the one before start's to the one after end's cover every range that can overlap.
    days = (end.astimezone(calendar.zone).date() - start.astimezone(calendar.zone).date()).days + 3
    total = timedelta()  # summing timedeltas keeps microseconds exact over long spans
    for opens, closes in _ranges(calendar, start, days):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta():
            total += overlap
    return total.total_seconds()


def add_business_seconds(calendar: Calendar, start: datetime, seconds: float) -> datetime | None:
    """The moment (UTC) when ``seconds`` of open time have passed since ``start``.

    A start in closed time counts from the next opening; 0 seconds gives ``next_opening(start)``.
    A count that ends exactly at closing time answers the closing moment (an 8-hour SLA from 09:00
    is due 17:00 that day, not 09:00 the next). None if the count does not finish within
    ``MAX_SEARCH_DAYS``.
    """
    start = _utc(start)
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}")
    if not _has_hours(calendar):
        return None
    remaining = timedelta(seconds=seconds)
    for opens, closes in _ranges(calendar, start, MAX_SEARCH_DAYS + 2):
        if closes <= start:
            continue
        opens = max(opens, start)
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    return None
