//! Pyro5's `timezones` example: a `Server` per connection that echoes the date and time the
//! client sends and answers the time in Amsterdam, as Python's `pytz`, `dateutil` and
//! `pendulum` give it. Pyro's serializers send a `datetime` as its ISO 8601 text, so that is
//! what goes both ways: `2026-12-06T12:45:28.778219+01:00`. Served as `example.timezones`
//! in the daemon, without a name server; the client asks for the URI.
//!
//! Amsterdam's offset is computed by the European Union's rule (summer time from 01:00 UTC
//! on the last Sunday of March to 01:00 UTC on the last Sunday of October), which has held
//! there since 1996. The server's clock is taken as UTC.

use std::time::{SystemTime, UNIX_EPOCH};

use pyro5_examples::{Class, civil_from_days, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::{InstanceMode, expose};

/// The days from 1970-01-01 to `(year, month, day)` (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The seconds since the epoch of 01:00 UTC on the last Sunday of `month` (March or
/// October) of `year`: when Amsterdam's clocks change.
fn clock_change(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: weekday 0 is Sunday.
    let sunday = last - (last + 4).rem_euclid(7);
    sunday * 86_400 + 3600
}

/// Amsterdam's offset from UTC in seconds at `secs` since the epoch, and whether it is
/// summer time.
fn amsterdam_offset(secs: i64) -> (i64, bool) {
    let (year, _, _) = civil_from_days(secs.div_euclid(86_400));
    let summer = (clock_change(year, 3)..clock_change(year, 10)).contains(&secs);
    (if summer { 7200 } else { 3600 }, summer)
}

/// A date and time: seconds since the epoch in its own wall clock, and microseconds.
#[derive(Clone, Copy)]
struct Wall {
    secs: i64,
    micros: u32,
}

impl Wall {
    /// The clock now, in UTC.
    fn now() -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Self { secs: i64::try_from(now.as_secs()).unwrap_or(i64::MAX), micros: now.subsec_micros() }
    }

    /// `(year, month, day, hour, minute, second)`.
    fn fields(self) -> (i64, i64, i64, i64, i64, i64) {
        let (year, month, day) = civil_from_days(self.secs.div_euclid(86_400));
        let time = self.secs.rem_euclid(86_400);
        (year, month, day, time / 3600, time / 60 % 60, time % 60)
    }

    /// Python's `datetime.isoformat()` with the offset `offset` (seconds east of UTC).
    fn isoformat(self, offset: i64) -> String {
        let (year, month, day, hour, minute, second) = self.fields();
        let micros = if self.micros == 0 { String::new() } else { format!(".{:06}", self.micros) };
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.abs();
        format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{micros}{sign}{:02}:{:02}",
            offset / 3600,
            offset / 60 % 60
        )
    }

    /// The fields of Python's `repr` of a `datetime`: `2026, 12, 6, 12, 45, 28, 778219`.
    fn repr_fields(self) -> String {
        let (year, month, day, hour, minute, second) = self.fields();
        let micros = if self.micros == 0 { String::new() } else { format!(", {}", self.micros) };
        format!("{year}, {month}, {day}, {hour}, {minute}, {second}{micros}")
    }
}

/// Amsterdam's wall clock now and its offset.
fn amsterdam_now() -> (Wall, i64, bool) {
    let utc = Wall::now();
    let (offset, summer) = amsterdam_offset(utc.secs);
    (Wall { secs: utc.secs + offset, ..utc }, offset, summer)
}

struct Server;

#[expose]
impl Server {
    /// The value sent (a `datetime` arrives as its ISO 8601 text).
    fn echo(&self, date: Value) -> Value {
        match &date {
            Value::Str(text) => println!("RETURNING: '{text}'"),
            other => println!("RETURNING: {other:?}"),
        }
        date
    }

    /// As `pytz`'s `localize` of the local time: the server's clock read in Amsterdam's
    /// offset.
    fn pytz(&self) -> String {
        let wall = Wall::now();
        let (offset, summer) = amsterdam_offset(wall.secs - 3600);
        let tz = if summer { "CEST+2:00:00 DST" } else { "CET+1:00:00 STD" };
        println!("RETURNING: datetime.datetime({}, tzinfo=<DstTzInfo 'Europe/Amsterdam' {tz}>)", wall.repr_fields());
        wall.isoformat(offset)
    }

    /// As `datetime.now(dateutil.tz.gettz("Europe/Amsterdam"))`.
    fn dateutil(&self) -> String {
        let (wall, offset, _) = amsterdam_now();
        println!("RETURNING: datetime.datetime({}, tzinfo=tzfile('Europe/Amsterdam'))", wall.repr_fields());
        wall.isoformat(offset)
    }

    /// As `pendulum.now("Europe/Amsterdam")`.
    fn pendulum(&self) -> String {
        let (wall, offset, _) = amsterdam_now();
        println!("RETURNING: DateTime({}, tzinfo=Timezone('Europe/Amsterdam'))", wall.repr_fields());
        wall.isoformat(offset)
    }
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("__main__.Server", InstanceMode::Session, || Server, "example.timezones")], None, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amsterdam_changes_its_clocks_on_the_last_sundays_of_march_and_october() {
        // 2026: 29 March and 25 October, at 01:00 UTC.
        let march = days_from_civil(2026, 3, 29) * 86_400 + 3600;
        let october = days_from_civil(2026, 10, 25) * 86_400 + 3600;
        assert_eq!(clock_change(2026, 3), march);
        assert_eq!(clock_change(2026, 10), october);
        assert_eq!(amsterdam_offset(march - 1), (3600, false));
        assert_eq!(amsterdam_offset(march), (7200, true));
        assert_eq!(amsterdam_offset(october - 1), (7200, true));
        assert_eq!(amsterdam_offset(october), (3600, false));
    }

    #[test]
    fn a_date_prints_as_python_isoformat() {
        let secs = days_from_civil(2026, 12, 6) * 86_400 + 12 * 3600 + 45 * 60 + 28;
        assert_eq!(Wall { secs, micros: 778_219 }.isoformat(3600), "2026-12-06T12:45:28.778219+01:00");
        assert_eq!(Wall { secs, micros: 0 }.isoformat(7200), "2026-12-06T12:45:28+02:00");
        assert_eq!(Wall { secs, micros: 5 }.repr_fields(), "2026, 12, 6, 12, 45, 28, 5");
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }
}
