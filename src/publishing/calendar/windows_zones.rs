//! Windows time-zone names as Outlook and Exchange write them in TZID, mapped to IANA.
//!
//! Owns two tables and nothing else: [`WINDOWS_TO_IANA`], the "001" (default territory)
//! entries of CLDR's `windowsZones.xml` (as of CLDR 44), and [`DISPLAY_TO_IANA`], the
//! bodies of Windows display names ("Pacific Time (US & Canada)") in their current and
//! Windows XP-era spellings. Where CLDR's zone is a backward-compatible alias
//! (`Asia/Calcutta`), the canonical name is used; the offsets are the same.

/// Windows standard name → IANA zone (CLDR windowsZones, territory 001).
pub(crate) const WINDOWS_TO_IANA: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("Greenland Standard Time", "America/Nuuk"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    // Windows XP-era name of the zone later split into UTC-02.
    ("Mid-Atlantic Standard Time", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("Coordinated Universal Time", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kyiv"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Central Asia Standard Time", "Asia/Bishkek"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
];

/// The text of a Windows display name after its "(UTC-08:00) " or "(GMT-08.00) " prefix
/// and before any "; Tijuana"-style suffix → IANA zone.
pub(crate) const DISPLAY_TO_IANA: &[(&str, &str)] = &[
    ("International Date Line West", "Etc/GMT+12"),
    ("Hawaii", "Pacific/Honolulu"),
    ("Alaska", "America/Anchorage"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Baja California", "America/Tijuana"),
    ("Arizona", "America/Phoenix"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Guadalajara, Mexico City, Monterrey", "America/Mexico_City"),
    ("Saskatchewan", "America/Regina"),
    ("Central America", "America/Guatemala"),
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Indiana (East)", "America/Indiana/Indianapolis"),
    ("Bogota, Lima, Quito, Rio Branco", "America/Bogota"),
    ("Bogota, Lima, Quito", "America/Bogota"),
    ("Atlantic Time (Canada)", "America/Halifax"),
    ("Caracas", "America/Caracas"),
    ("Santiago", "America/Santiago"),
    ("Newfoundland", "America/St_Johns"),
    ("Brasilia", "America/Sao_Paulo"),
    ("City of Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Greenland", "America/Nuuk"),
    ("Montevideo", "America/Montevideo"),
    ("Azores", "Atlantic/Azores"),
    ("Cape Verde Is.", "Atlantic/Cape_Verde"),
    ("Coordinated Universal Time", "Etc/UTC"),
    ("Dublin, Edinburgh, Lisbon, London", "Europe/London"),
    (
        "Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
        "Europe/London",
    ),
    ("Monrovia, Reykjavik", "Atlantic/Reykjavik"),
    ("Casablanca", "Africa/Casablanca"),
    (
        "Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        "Europe/Berlin",
    ),
    (
        "Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        "Europe/Budapest",
    ),
    ("Brussels, Copenhagen, Madrid, Paris", "Europe/Paris"),
    ("Sarajevo, Skopje, Warsaw, Zagreb", "Europe/Warsaw"),
    (
        "Sarajevo, Skopje, Sofija, Vilnius, Warsaw, Zagreb",
        "Europe/Warsaw",
    ),
    ("West Central Africa", "Africa/Lagos"),
    ("Athens, Bucharest", "Europe/Bucharest"),
    ("Bucharest", "Europe/Bucharest"),
    ("Beirut", "Asia/Beirut"),
    ("Cairo", "Africa/Cairo"),
    ("Harare, Pretoria", "Africa/Johannesburg"),
    (
        "Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        "Europe/Kyiv",
    ),
    (
        "Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius",
        "Europe/Kyiv",
    ),
    ("Jerusalem", "Asia/Jerusalem"),
    ("Istanbul", "Europe/Istanbul"),
    ("Baghdad", "Asia/Baghdad"),
    ("Kuwait, Riyadh", "Asia/Riyadh"),
    ("Minsk", "Europe/Minsk"),
    ("Moscow, St. Petersburg", "Europe/Moscow"),
    ("Moscow, St. Petersburg, Volgograd", "Europe/Moscow"),
    ("Nairobi", "Africa/Nairobi"),
    ("Tehran", "Asia/Tehran"),
    ("Abu Dhabi, Muscat", "Asia/Dubai"),
    ("Baku", "Asia/Baku"),
    ("Tbilisi", "Asia/Tbilisi"),
    ("Yerevan", "Asia/Yerevan"),
    ("Kabul", "Asia/Kabul"),
    ("Ekaterinburg", "Asia/Yekaterinburg"),
    ("Islamabad, Karachi", "Asia/Karachi"),
    ("Tashkent", "Asia/Tashkent"),
    ("Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata"),
    ("Sri Jayawardenepura", "Asia/Colombo"),
    ("Kathmandu", "Asia/Kathmandu"),
    ("Dhaka", "Asia/Dhaka"),
    ("Yangon (Rangoon)", "Asia/Yangon"),
    ("Bangkok, Hanoi, Jakarta", "Asia/Bangkok"),
    ("Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("Novosibirsk", "Asia/Novosibirsk"),
    ("Beijing, Chongqing, Hong Kong, Urumqi", "Asia/Shanghai"),
    ("Irkutsk", "Asia/Irkutsk"),
    ("Kuala Lumpur, Singapore", "Asia/Singapore"),
    ("Perth", "Australia/Perth"),
    ("Taipei", "Asia/Taipei"),
    ("Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("Osaka, Sapporo, Tokyo", "Asia/Tokyo"),
    ("Seoul", "Asia/Seoul"),
    ("Yakutsk", "Asia/Yakutsk"),
    ("Adelaide", "Australia/Adelaide"),
    ("Darwin", "Australia/Darwin"),
    ("Brisbane", "Australia/Brisbane"),
    ("Canberra, Melbourne, Sydney", "Australia/Sydney"),
    ("Guam, Port Moresby", "Pacific/Port_Moresby"),
    ("Hobart", "Australia/Hobart"),
    ("Vladivostok", "Asia/Vladivostok"),
    ("Magadan", "Asia/Magadan"),
    ("Solomon Is., New Caledonia", "Pacific/Guadalcanal"),
    ("Auckland, Wellington", "Pacific/Auckland"),
    ("Fiji", "Pacific/Fiji"),
    ("Nuku'alofa", "Pacific/Tongatapu"),
    ("Samoa", "Pacific/Apia"),
];

/// IANA name for a Windows standard name, case-insensitively.
pub(crate) fn windows_to_iana(name: &str) -> Option<&'static str> {
    lookup(WINDOWS_TO_IANA, name.trim())
}

/// IANA name for a Windows zone name written exactly as Windows spells it (case included).
pub(crate) fn windows_to_iana_exact(name: &str) -> Option<&'static str> {
    WINDOWS_TO_IANA
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
}

/// IANA name for a display-name body (prefix already removed), case-insensitively.
pub(crate) fn display_to_iana(body: &str) -> Option<&'static str> {
    lookup(DISPLAY_TO_IANA, body.trim())
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_zone_exists_in_the_bundled_database() {
        for (win, iana) in WINDOWS_TO_IANA.iter().chain(DISPLAY_TO_IANA) {
            assert!(
                jiff::tz::TimeZone::get(iana).is_ok(),
                "{win} maps to {iana}, which jiff does not know"
            );
        }
        assert!(WINDOWS_TO_IANA.len() >= 60);
    }

    #[test]
    fn lookups_ignore_case() {
        assert_eq!(
            windows_to_iana("pacific standard time"),
            Some("America/Los_Angeles")
        );
        assert_eq!(
            windows_to_iana("W. Europe Standard Time"),
            Some("Europe/Berlin")
        );
        assert_eq!(
            display_to_iana("Pacific Time (US & Canada)"),
            Some("America/Los_Angeles")
        );
        assert_eq!(windows_to_iana("Mars Standard Time"), None);
    }
}
