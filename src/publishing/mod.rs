//! Publishing: what a user's calendar says, written as their free/busy message.
//!
//! Owns [`calendar`] (iCalendar → free/busy, pure: parsing, time zones, recurrence,
//! expansion over a window) and [`publisher`] (the one definition of a publish: the range,
//! the expansion, the message, the store write). Sits on `protocol` and `store`; must not
//! touch HTTP (`transport`), the rules of `auth` or the operations of `app`.

pub mod calendar;
pub mod publisher;
