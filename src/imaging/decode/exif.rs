//! The one EXIF fact pictor needs: the Orientation tag (0x0112) of IFD0, read tolerantly from
//! a TIFF-structured EXIF payload (JPEG APP1, PNG eXIf, WebP EXIF chunk).

/// EXIF orientation 1..=8 from an EXIF payload, with or without the `Exif\0\0` prefix.
/// Anything broken, missing or out of range reads as 1 (Thumbor ignores bad EXIF the same way).
pub(super) fn orientation(payload: &[u8]) -> u8 {
    let tiff = payload.strip_prefix(b"Exif\0\0").unwrap_or(payload);
    read_orientation(tiff)
        .filter(|o| (1..=8).contains(o))
        .map_or(1, |o| o as u8)
}

fn read_orientation(tiff: &[u8]) -> Option<u32> {
    const ORIENTATION_TAG: u16 = 0x0112;
    const TYPE_SHORT: u16 = 3;
    const TYPE_LONG: u16 = 4;

    let big_endian = match tiff.get(0..4)? {
        b"II*\0" => false,
        b"MM\0*" => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };

    let ifd0 = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd0)?);
    (0..entries).find_map(|i| {
        let entry = ifd0 + 2 + i * 12;
        if u16_at(entry)? != ORIENTATION_TAG {
            return None;
        }
        match u16_at(entry + 2)? {
            TYPE_SHORT => u16_at(entry + 8).map(u32::from),
            TYPE_LONG => u32_at(entry + 8),
            _ => Some(0),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::orientation;

    fn tiff_with_orientation(big_endian: bool, value: u16) -> Vec<u8> {
        let mut t = Vec::new();
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        t.extend_from_slice(if big_endian { b"MM\0*" } else { b"II*\0" });
        t.extend_from_slice(&u32b(8));
        t.extend_from_slice(&u16b(1));
        t.extend_from_slice(&u16b(0x0112));
        t.extend_from_slice(&u16b(3));
        t.extend_from_slice(&u32b(1));
        t.extend_from_slice(&u16b(value));
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&u32b(0));
        t
    }

    #[test]
    fn reads_both_byte_orders_and_the_exif_prefix() {
        assert_eq!(orientation(&tiff_with_orientation(true, 6)), 6);
        assert_eq!(orientation(&tiff_with_orientation(false, 8)), 8);
        let mut prefixed = b"Exif\0\0".to_vec();
        prefixed.extend(tiff_with_orientation(false, 3));
        assert_eq!(orientation(&prefixed), 3);
    }

    #[test]
    fn broken_or_invalid_values_read_as_one() {
        assert_eq!(orientation(&tiff_with_orientation(true, 0)), 1);
        assert_eq!(orientation(&tiff_with_orientation(true, 9)), 1);
        assert_eq!(orientation(b"Exif\0\0II*\0\xff\xff\xff\xff"), 1);
        assert_eq!(orientation(b""), 1);
        let mut truncated = tiff_with_orientation(false, 6);
        truncated.truncate(14);
        assert_eq!(orientation(&truncated), 1);
    }
}
