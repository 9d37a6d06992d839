"""The school's time zone as the panel needs it: its UTC offsets and when they change, from the
server's own time zone database (Python's ``zoneinfo``).

Browsers carry their own database, which may be out of date: Debian's Chromium still puts
Africa/Casablanca at UTC+0 in winter (Morocco has kept UTC+1 since 2018, UTC+0 during
Ramadan), so a deadline typed as 18:00 would show as 17:00. The panel formats dates with
these offsets instead (``setZone`` in ``model.ts``).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

FIRST, LAST = 2000, 2100


def _offset_minutes(tz: zoneinfo.ZoneInfo, at: dt.datetime) -> int:
    return int(at.astimezone(tz).utcoffset().total_seconds() // 60)


@functools.cache
def zone_rules(name: str) -> dict:
    """``{"name", "offsets": [[start, minutes], …]}``: from ``start`` (milliseconds since 1970,
    UTC) on, the school's clock is ``minutes`` ahead of UTC; the first entry holds before it too."""
    try:
        tz = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return {"name": name, "offsets": []}
    step = dt.timedelta(hours=6)
    at = dt.datetime(FIRST, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(LAST, 1, 1, tzinfo=dt.UTC)
    current = _offset_minutes(tz, at)
    offsets = [[int(at.timestamp() * 1000), current]]
    while at < end:
        nxt = at + step
        minutes = _offset_minutes(tz, nxt)
        if minutes != current:
            lo, hi = at, nxt  # the change lies in (lo, hi]: find its minute
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if _offset_minutes(tz, mid) == current:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(second=0, microsecond=0)
            if _offset_minutes(tz, hi) == current:
                hi += dt.timedelta(minutes=1)
            offsets.append([int(hi.timestamp() * 1000), minutes])
            current = minutes
        at = nxt
    return {"name": name, "offsets": offsets}
