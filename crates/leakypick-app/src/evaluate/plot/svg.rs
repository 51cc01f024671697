//! The low-level pieces of SVG writing: XML escaping, coordinates written briefly and
//! deterministically, colours, and text widths estimated without a font.

use super::Rgb;
use std::fmt::Write;

/// Appends formatted text to a `String`. Writing to a `String` cannot fail, so the
/// `fmt::Result` is dropped here once instead of at every call.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        $crate::evaluate::plot::svg::write_to($out, format_args!($($arg)*))
    };
}
pub(crate) use w;

/// The function behind [`w!`].
pub(crate) fn write_to(out: &mut String, args: std::fmt::Arguments<'_>) {
    let _infallible = out.write_fmt(args);
}

/// Text made safe for XML character data and attribute values: the five special
/// characters become entities, and characters XML 1.0 forbids (most control
/// characters, U+FFFE, U+FFFF) are dropped, since a viewer would reject the whole file
/// for one of them. Line breaks become spaces because SVG text is a single line.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A pixel coordinate with at most one decimal, without a trailing `.0` and never as
/// `-0`: a tenth of a pixel is finer than any screen shows, and short numbers keep
/// a polyline of a thousand points small. Non-finite input (which callers filter out
/// before) is written as 0 so the file stays valid whatever happens.
pub(crate) fn px(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let tenths = (v * 10.0).round();
    if tenths == 0.0 {
        return "0".to_string();
    }
    let s = format!("{:.1}", tenths / 10.0);
    match s.strip_suffix(".0") {
        Some(int) => int.to_string(),
        None => s,
    }
}

/// `#rrggbb`.
pub(crate) fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Advance widths of the printable ASCII characters (space to `~`) in DejaVu Sans, in
/// thousandths of an em, read from the font's `hmtx` table. DejaVu Sans is the widest
/// of the fonts the charts name, so widths estimated from it err on the wide side for
/// Helvetica or Arial and boxes sized from them do not clip the text. Only these
/// numbers are used; no font data is embedded or needed.
const DEJAVU_SANS: [u16; 95] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
    575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
    611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
    278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];

/// The same for DejaVu Sans Bold, used for the title.
const DEJAVU_SANS_BOLD: [u16; 95] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683,
    683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771,
    724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665,
    343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
];

/// The estimated width of `s` in pixels at `font_size`, without a font: ASCII from
/// the tables above; other letters as an average Latin letter, anything else
/// (symbols, wide scripts) as a full em.
pub(crate) fn text_width(s: &str, font_size: f64, bold: bool) -> f64 {
    let table = if bold {
        &DEJAVU_SANS_BOLD
    } else {
        &DEJAVU_SANS
    };
    let per_mille: u64 = s
        .chars()
        .map(|c| {
            let code = c as u32;
            match code {
                32..=126 => u64::from(table[(code - 32) as usize]),
                _ if c.is_alphabetic() && code < 0x0250 => {
                    if bold {
                        720
                    } else {
                        650
                    }
                }
                _ => 1000,
            }
        })
        .sum();
    per_mille as f64 / 1000.0 * font_size
}

/// A stable, short hash (FNV-1a) used to make element ids unique per chart, so that
/// several charts inlined into one HTML page do not share clip paths by accident.
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for &b in *part {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}
