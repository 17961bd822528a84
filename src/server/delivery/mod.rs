//! Messages to people: composed from templates in their language, queued in the
//! database, and delivered by a background worker over SMTP or into `data/outbox/`.

pub mod messages;
pub mod transport;
pub mod worker;
