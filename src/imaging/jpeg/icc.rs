//! ICC profiles in JPEG files: APP2 markers whose payload is `ICC_PROFILE\0`, a sequence
//! number from 1, the chunk count and up to 65,519 bytes of the profile. Both decoders join the
//! chunks they read, both writers (mozjpeg's RGB encode and the planes writer) split a profile
//! into them: one place for the format, so that reading and writing agree.

/// Joins `ICC_PROFILE` APP2 chunks in sequence order (profiles over 64 KB are split).
pub fn assemble_icc_profile(mut chunks: Vec<(u8, &[u8])>) -> Option<Vec<u8>> {
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(sequence, _)| *sequence);
    Some(
        chunks
            .into_iter()
            .flat_map(|(_, data)| data.iter().copied())
            .collect(),
    )
}

/// The APP2 payloads that carry `icc` ("ICC_PROFILE\0", sequence number from 1, count, data),
/// split at libjpeg's 65,519 data bytes per marker. (mozjpeg's `write_icc_profile` numbers the
/// chunks from 0, which libjpeg's own reader and browsers reject as bogus.) A profile needing
/// more than 255 markers cannot be numbered and is not embedded.
pub fn icc_marker_payloads(icc: &[u8]) -> Vec<Vec<u8>> {
    const DATA_PER_MARKER: usize = 65_533 - 14;
    let count = icc.len().div_ceil(DATA_PER_MARKER);
    if count == 0 || count > 255 {
        return Vec::new();
    }
    icc.chunks(DATA_PER_MARKER)
        .enumerate()
        .map(|(index, chunk)| {
            let mut payload = Vec::with_capacity(14 + chunk.len());
            payload.extend_from_slice(b"ICC_PROFILE\0");
            payload.extend_from_slice(&[index as u8 + 1, count as u8]);
            payload.extend_from_slice(chunk);
            payload
        })
        .collect()
}
