/**
 * Mocha loads this before any test (.mocharc.json "require"). fast-check's default size caps every
 * generated array, string and byte array at about 10 elements even where a test asks for up to 300
 * operations or a 2 KiB frame; with this, a stated maximum is the size generated up to, so a property
 * covers the lengths its test names. Where no maximum is stated, the default size stays.
 */
import fc from "fast-check";

fc.configureGlobal({ defaultSizeToMaxWhenMaxSpecified: true });
