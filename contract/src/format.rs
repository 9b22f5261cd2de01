//! Numbers, sizes, speeds and times for people, in each language's way.
//!
//! Integer arithmetic where it can: formatting floats pulls the float
//! printing machinery (tens of kilobytes) into the page's WASM.

use crate::Lang;

/// `1234567` → `1,234,567` (en) or `1 234 567` (ru, with no-break spaces).
pub fn group(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::En => ',',
        Lang::Ru => '\u{a0}',
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A decimal with `places` digits after the point, the language's way
/// (`2.5` / `2,5`).
pub fn decimal(value: f64, places: usize, lang: Lang) -> String {
    // Integer arithmetic: formatting floats would pull the float printing
    // machinery (tens of kilobytes) into the WASM.
    let scale = 10u64.pow(places as u32);
    let scaled = if value.is_finite() && value > 0.0 { (value * scale as f64).round() as u64 } else { 0 };
    let (int, frac) = (scaled / scale, scaled % scale);
    if places == 0 {
        return int.to_string();
    }
    let sep = match lang {
        Lang::En => '.',
        Lang::Ru => ',',
    };
    format!("{int}{sep}{frac:0places$}")
}

/// Russian plural form: 1 видео / 2 файла / 5 файлов → (one, few, many).
pub fn plural_ru(n: u64, one: &'static str, few: &'static str, many: &'static str) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// `42.5%` / `42,5 %`.
pub fn percent(value: f64, lang: Lang) -> String {
    let value = if value.is_finite() { value.clamp(0.0, 100.0) } else { 0.0 };
    match lang {
        Lang::En => format!("{}%", decimal(value, 1, lang)),
        Lang::Ru => format!("{}\u{a0}%", decimal(value, 1, lang)),
    }
}

/// A byte count for people (powers of 1000, like the sizes in file
/// managers): `850 KB`, `12 MB`, `3.4 GB` / `850 КБ`, `12 МБ`, `3,4 ГБ`.
pub fn bytes(n: u64, lang: Lang) -> String {
    const EN_UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    const RU_UNITS: [&str; 5] = ["Б", "КБ", "МБ", "ГБ", "ТБ"];
    let units = match lang {
        Lang::En => EN_UNITS,
        Lang::Ru => RU_UNITS,
    };
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 999.5 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let number = if unit == 0 {
        n.to_string()
    } else if value < 9.95 {
        decimal(value, 1, lang)
    } else {
        decimal(value, 0, lang)
    };
    format!("{number}\u{a0}{}", units[unit])
}

/// `2.6 MB/s` / `2,6 МБ/с`.
pub fn speed(bytes_per_sec: f64, lang: Lang) -> String {
    let b = if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 { bytes_per_sec.round() as u64 } else { 0 };
    let per = match lang {
        Lang::En => "/s",
        Lang::Ru => "/с",
    };
    format!("{}{per}", bytes(b, lang))
}

/// A length of time in words: `45 s`, `2 min 05 s`, `1 h 02 min` / `45 с`,
/// `2 мин 05 с`, `1 ч 02 мин`.
pub fn span(secs: u64, lang: Lang) -> String {
    let (h, m, s) = match lang {
        Lang::En => ("h", "min", "s"),
        Lang::Ru => ("ч", "мин", "с"),
    };
    match secs {
        0..=59 => format!("{secs}\u{a0}{s}"),
        60..=3599 => format!("{}\u{a0}{m} {:02}\u{a0}{s}", secs / 60, secs % 60),
        _ => format!("{}\u{a0}{h} {:02}\u{a0}{m}", secs / 3600, secs % 3600 / 60),
    }
}

/// A running time as a clock, like video players show it: `0:20`, `4:05`,
/// `1:02:05` (the same in both languages).
pub fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// An ISO 8601 duration for `<time datetime>`: `PT1H2M5S`.
pub fn iso_duration(secs: u64) -> String {
    format!("PT{}H{}M{}S", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `3725` → `01:02:05`.
pub fn format_duration(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count in binary units, as yt-dlp prints them: `512 B`, `2.50 MiB`
/// (the seed API's `speed` and the English sentences).
pub fn iec_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// A short span, as the seed API's `eta`: `10s`, `1m 05s`, `1h 02m`.
pub fn short_span(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_zero_padded() {
        assert_eq!(format_duration(0), "00:00:00");
        assert_eq!(format_duration(20), "00:00:20");
        assert_eq!(format_duration(3725), "01:02:05");
        assert_eq!(format_duration(100 * 3600), "100:00:00");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(1_500_000_000), "1,500,000,000");
    }

    #[test]
    fn numbers_group_the_languages_way() {
        assert_eq!(group(1_234_567, Lang::En), "1,234,567");
        assert_eq!(group(1_234_567, Lang::Ru), "1\u{a0}234\u{a0}567");
        assert_eq!(group(999, Lang::Ru), "999");
        assert_eq!(percent(42.54, Lang::En), "42.5%");
        assert_eq!(decimal(2.96, 1, Lang::Ru), "3,0");
        assert_eq!(decimal(0.05, 2, Lang::En), "0.05");
        assert_eq!(percent(100.0, Lang::Ru), "100,0\u{a0}%");
    }

    #[test]
    fn sizes_speeds_and_times_read_naturally() {
        assert_eq!(bytes(512, Lang::En), "512\u{a0}B");
        assert_eq!(bytes(1_234, Lang::En), "1.2\u{a0}KB");
        assert_eq!(bytes(12_345_678, Lang::Ru), "12\u{a0}МБ");
        assert_eq!(bytes(3_400_000_000, Lang::Ru), "3,4\u{a0}ГБ");
        assert_eq!(bytes(999_999, Lang::En), "1.0\u{a0}MB");
        assert_eq!(speed(2_600_000.0, Lang::Ru), "2,6\u{a0}МБ/с");
        assert_eq!(speed(2_600_000.0, Lang::En), "2.6\u{a0}MB/s");
        assert_eq!(span(3720, Lang::Ru), "1\u{a0}ч 02\u{a0}мин");
        assert_eq!(clock(20), "0:20");
        assert_eq!(clock(3725), "1:02:05");
        assert_eq!(iso_duration(3725), "PT1H2M5S");
    }

    #[test]
    fn the_seed_formats_stay() {
        assert_eq!(iec_bytes(512), "512 B");
        assert_eq!(iec_bytes(100 * 1024), "100.00 KiB");
        assert_eq!(short_span(4), "4s");
        assert_eq!(short_span(65), "1m 05s");
        assert_eq!(short_span(3720), "1h 02m");
    }
}
