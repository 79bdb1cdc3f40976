//! `convert_angle`, `convert_energy`, `convert_force`, `convert_length`, `convert_mass`,
//! `convert_speed`, `convert_temperature` and `convert_volume`: the units Kusto documents, each
//! with its size in the quantity's base unit. A few factors are the rounded ones of the
//! converter Kusto uses (UnitsNet), so results agree with Kusto's to the last digits.

use super::registry::{Function, fixed};
use super::{arg, text};
use crate::value::ScalarType::Real;
use crate::value::Value;
use crate::value::convert::as_f64;

/// The functions of this module: `convert_*(value, from, to)`, null for an unknown unit or a
/// non-numeric value.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("convert_angle", Real, |a, _| by_factor(a, ANGLE)),
    fixed("convert_energy", Real, |a, _| by_factor(a, ENERGY)),
    fixed("convert_force", Real, |a, _| by_factor(a, FORCE)),
    fixed("convert_length", Real, |a, _| by_factor(a, LENGTH)),
    fixed("convert_mass", Real, |a, _| by_factor(a, MASS)),
    fixed("convert_speed", Real, |a, _| by_factor(a, SPEED)),
    fixed("convert_volume", Real, |a, _| by_factor(a, VOLUME)),
    fixed("convert_temperature", Real, |a, _| {
        convert(a, |x, from, to| {
            kelvin(x, from, true).and_then(|k| kelvin(k, to, false))
        })
    }),
];

const INCH: f64 = 0.0254;
const FOOT: f64 = 0.3048;
const LIGHT_YEAR: f64 = 9.460_730_472_58e15;
const PARSEC: f64 = 3.085_677_581_28e16;

/// Degrees.
const ANGLE: &[(&str, f64)] = &[
    ("Arcminute", 1.0 / 60.0),
    ("Arcsecond", 1.0 / 3600.0),
    ("Centiradian", 0.01 * 180.0 / std::f64::consts::PI),
    ("Deciradian", 0.1 * 180.0 / std::f64::consts::PI),
    ("Degree", 1.0),
    ("Gradian", 0.9),
    ("Microdegree", 1e-6),
    ("Microradian", 1e-6 * 180.0 / std::f64::consts::PI),
    ("Millidegree", 1e-3),
    ("Milliradian", 1e-3 * 180.0 / std::f64::consts::PI),
    ("Nanodegree", 1e-9),
    ("Nanoradian", 1e-9 * 180.0 / std::f64::consts::PI),
    ("NatoMil", 360.0 / 6400.0),
    ("Radian", 180.0 / std::f64::consts::PI),
    ("Revolution", 360.0),
];

/// Joules.
const ENERGY: &[(&str, f64)] = &[
    ("BritishThermalUnit", 1_055.055_852_62),
    ("Calorie", 4.184),
    ("DecathermEc", 1.055_055_852_62e9),
    ("DecathermImperial", 1.055_056_4e9),
    ("DecathermUs", 1.054_804e9),
    ("ElectronVolt", 1.602_176_634e-19),
    ("Erg", 1e-7),
    ("FootPound", 1.355_817_948),
    ("GigabritishThermalUnit", 1_055.055_852_62e9),
    ("GigaelectronVolt", 1.602_176_634e-10),
    ("Gigajoule", 1e9),
    ("GigawattDay", 8.64e13),
    ("GigawattHour", 3.6e12),
    ("HorsepowerHour", 2.684_519_537_696_173e6),
    ("Joule", 1.0),
    ("KilobritishThermalUnit", 1_055.055_852_62e3),
    ("Kilocalorie", 4_184.0),
    ("KiloelectronVolt", 1.602_176_634e-16),
    ("Kilojoule", 1e3),
    ("KilowattDay", 8.64e7),
    ("KilowattHour", 3.6e6),
    ("MegabritishThermalUnit", 1_055.055_852_62e6),
    ("Megacalorie", 4.184e6),
    ("MegaelectronVolt", 1.602_176_634e-13),
    ("Megajoule", 1e6),
    ("MegawattDay", 8.64e10),
    ("MegawattHour", 3.6e9),
    ("Millijoule", 1e-3),
    ("TeraelectronVolt", 1.602_176_634e-7),
    ("TerawattDay", 8.64e16),
    ("TerawattHour", 3.6e15),
    ("ThermEc", 1.055_055_852_62e8),
    ("ThermImperial", 1.055_056_4e8),
    ("ThermUs", 1.054_804e8),
    ("WattDay", 86_400.0),
    ("WattHour", 3_600.0),
];

/// Newtons.
const FORCE: &[(&str, f64)] = &[
    ("Decanewton", 10.0),
    ("Dyn", 1e-5),
    ("KilogramForce", 9.806_65),
    ("Kilonewton", 1e3),
    ("KiloPond", 9.806_65),
    ("KilopoundForce", 4_448.221_615_260_5),
    ("Meganewton", 1e6),
    ("Micronewton", 1e-6),
    ("Millinewton", 1e-3),
    ("Newton", 1.0),
    ("OunceForce", 0.278_013_850_953_781_2),
    ("Poundal", 0.138_254_954_376),
    ("PoundForce", 4.448_221_615_260_5),
    ("ShortTonForce", 8_896.443_230_521),
    ("TonneForce", 9_806.65),
];

/// Meters.
const LENGTH: &[(&str, f64)] = &[
    ("Angstrom", 1e-10),
    ("AstronomicalUnit", 1.495_978_707e11),
    ("Centimeter", 1e-2),
    ("Chain", 20.1168),
    ("DataMile", 1_828.8),
    ("Decameter", 10.0),
    ("Decimeter", 0.1),
    ("DtpPica", INCH / 6.0),
    ("DtpPoint", INCH / 72.0),
    ("Fathom", 1.8288),
    ("Foot", FOOT),
    ("Hand", 0.1016),
    ("Hectometer", 100.0),
    ("Inch", INCH),
    ("KilolightYear", LIGHT_YEAR * 1e3),
    ("Kilometer", 1e3),
    ("Kiloparsec", PARSEC * 1e3),
    ("LightYear", LIGHT_YEAR),
    ("MegalightYear", LIGHT_YEAR * 1e6),
    ("Megaparsec", PARSEC * 1e6),
    ("Meter", 1.0),
    ("Microinch", INCH * 1e-6),
    ("Micrometer", 1e-6),
    ("Mil", INCH * 1e-3),
    ("Mile", 1_609.344),
    ("Millimeter", 1e-3),
    ("Nanometer", 1e-9),
    ("NauticalMile", 1_852.0),
    ("Parsec", PARSEC),
    ("PrinterPica", 1.0 / 237.106_301_584),
    ("PrinterPoint", INCH / 72.27),
    ("Shackle", 27.432),
    ("SolarRadius", 6.957_00e8),
    ("Twip", INCH / 1440.0),
    ("UsSurveyFoot", 1_200.0 / 3_937.0),
    ("Yard", 0.9144),
];

/// Kilograms.
const MASS: &[(&str, f64)] = &[
    ("Centigram", 1e-5),
    ("Decagram", 1e-2),
    ("Decigram", 1e-4),
    ("EarthMass", 5.9722e24),
    ("Grain", 6.479_891e-5),
    ("Gram", 1e-3),
    ("Hectogram", 0.1),
    ("Kilogram", 1.0),
    ("Kilopound", 453.592_37),
    ("Kilotonne", 1e6),
    ("LongHundredweight", 50.802_345_44),
    ("LongTon", 1_016.046_908_8),
    ("Megapound", 453_592.37),
    ("Megatonne", 1e9),
    ("Microgram", 1e-9),
    ("Milligram", 1e-6),
    ("Nanogram", 1e-12),
    ("Ounce", 0.028_349_523_125),
    ("Pound", 0.453_592_37),
    ("ShortHundredweight", 45.359_237),
    ("ShortTon", 907.184_74),
    ("Slug", 14.593_902_937_206_4),
    ("SolarMass", 1.989_1e30),
    ("Stone", 6.350_293_18),
    ("Tonne", 1e3),
];

/// Meters per second.
const SPEED: &[(&str, f64)] = &[
    ("CentimeterPerHour", 1e-2 / 3600.0),
    ("CentimeterPerMinute", 1e-2 / 60.0),
    ("CentimeterPerSecond", 1e-2),
    ("DecimeterPerMinute", 0.1 / 60.0),
    ("DecimeterPerSecond", 0.1),
    ("FootPerHour", FOOT / 3600.0),
    ("FootPerMinute", FOOT / 60.0),
    ("FootPerSecond", FOOT),
    ("InchPerHour", INCH / 3600.0),
    ("InchPerMinute", INCH / 60.0),
    ("InchPerSecond", INCH),
    ("KilometerPerHour", 1e3 / 3600.0),
    ("KilometerPerMinute", 1e3 / 60.0),
    ("KilometerPerSecond", 1e3),
    ("Knot", 1_852.0 / 3600.0),
    ("MeterPerHour", 1.0 / 3600.0),
    ("MeterPerMinute", 1.0 / 60.0),
    ("MeterPerSecond", 1.0),
    ("MicrometerPerMinute", 1e-6 / 60.0),
    ("MicrometerPerSecond", 1e-6),
    ("MilePerHour", 0.447_04),
    ("MillimeterPerHour", 1e-3 / 3600.0),
    ("MillimeterPerMinute", 1e-3 / 60.0),
    ("MillimeterPerSecond", 1e-3),
    ("NanometerPerMinute", 1e-9 / 60.0),
    ("NanometerPerSecond", 1e-9),
    ("UsSurveyFootPerHour", 1_200.0 / 3_937.0 / 3600.0),
    ("UsSurveyFootPerMinute", 1_200.0 / 3_937.0 / 60.0),
    ("UsSurveyFootPerSecond", 1_200.0 / 3_937.0),
    ("YardPerHour", 0.9144 / 3600.0),
    ("YardPerMinute", 0.9144 / 60.0),
    ("YardPerSecond", 0.9144),
];

/// Cubic meters.
const VOLUME: &[(&str, f64)] = &[
    ("AcreFoot", 1.0 / 0.000_810_714),
    ("AuTablespoon", 2e-5),
    ("Centiliter", 1e-5),
    ("CubicCentimeter", 1e-6),
    ("CubicDecimeter", 1e-3),
    ("CubicFoot", 0.028_316_8),
    ("CubicHectometer", 1e6),
    ("CubicInch", 1.6387e-5),
    ("CubicKilometer", 1e9),
    ("CubicMeter", 1.0),
    ("CubicMicrometer", 1e-18),
    ("CubicMile", 4.168_181_825_440_58e9),
    ("CubicMillimeter", 1e-9),
    ("CubicYard", 0.764_554_858),
    ("Deciliter", 1e-4),
    ("HectocubicFoot", 2.831_68),
    ("HectocubicMeter", 100.0),
    ("Hectoliter", 0.1),
    ("ImperialBeerBarrel", 0.163_659_24),
    ("ImperialGallon", 0.004_546_09),
    ("ImperialOunce", 2.841_306_25e-5),
    ("ImperialPint", 5.682_612_5e-4),
    ("KilocubicFoot", 28.3168),
    ("KilocubicMeter", 1e3),
    ("KiloimperialGallon", 4.546_09),
    ("Kiloliter", 1.0),
    ("KilousGallon", 3.785_41),
    ("Liter", 1e-3),
    ("MegacubicFoot", 28_316.8),
    ("MegaimperialGallon", 4_546.09),
    ("Megaliter", 1e3),
    ("MegausGallon", 3_785.41),
    ("MetricCup", 2.5e-4),
    ("MetricTeaspoon", 5e-6),
    ("Microliter", 1e-9),
    ("Milliliter", 1e-6),
    ("OilBarrel", 0.158_987_294_928),
    ("UkTablespoon", 1.5e-5),
    ("UsBeerBarrel", 0.117_347_765_8),
    ("UsCustomaryCup", 2.365_882_365e-4),
    ("UsGallon", 0.003_785_41),
    ("UsLegalCup", 2.4e-4),
    ("UsOunce", 2.957_352_956_253_76e-5),
    ("UsPint", 4.731_764_73e-4),
    ("UsQuart", 9.463_529_46e-4),
    ("UsTablespoon", 1.478_676_478_125e-5),
    ("UsTeaspoon", 4.928_921_593_75e-6),
];

fn factor(units: &[(&str, f64)], unit: &str) -> Option<f64> {
    units
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(unit))
        .map(|(_, f)| *f)
}

/// A temperature in kelvins, or back from kelvins (`to_kelvin` false).
fn kelvin(x: f64, unit: &str, to_kelvin: bool) -> Option<f64> {
    // Each scale as (kelvins per degree, kelvins at its zero).
    let (scale, zero) = match unit.to_ascii_lowercase().as_str() {
        "kelvin" => (1.0, 0.0),
        "degreecelsius" => (1.0, 273.15),
        "millidegreecelsius" => (1e-3, 273.15),
        "degreefahrenheit" => (5.0 / 9.0, 459.67 * 5.0 / 9.0),
        "degreerankine" => (5.0 / 9.0, 0.0),
        "degreereaumur" => (5.0 / 4.0, 273.15),
        "degreenewton" => (100.0 / 33.0, 273.15),
        "degreeroemer" => (40.0 / 21.0, 273.15 - 7.5 * 40.0 / 21.0),
        "degreedelisle" => (-2.0 / 3.0, 373.15),
        "solartemperature" => (5_778.0, 0.0),
        _ => return None,
    };
    Some(if to_kelvin {
        x * scale + zero
    } else {
        (x - zero) / scale
    })
}

/// A conversion by the units' sizes in `units`.
fn by_factor(args: &[Value], units: &[(&str, f64)]) -> Value {
    let Some(x) = as_f64(&arg(args, 0)) else {
        return Value::Null;
    };
    let (from, to) = (text(args, 1), text(args, 2));
    factor(units, &from)
        .zip(factor(units, &to))
        .map(|(f, t)| x * f / t)
        .map_or(Value::Null, Value::Real)
}

/// A conversion of the value (the first argument) from the unit of the second argument to that
/// of the third by `by`.
fn convert(args: &[Value], by: fn(f64, &str, &str) -> Option<f64>) -> Value {
    let Some(x) = as_f64(&arg(args, 0)) else {
        return Value::Null;
    };
    by(x, &text(args, 1), &text(args, 2)).map_or(Value::Null, Value::Real)
}
