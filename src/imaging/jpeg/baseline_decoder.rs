//! A baseline JPEG decoder for the JPEG → JPEG path at 1/2, 1/4 and 1/8 scale: Huffman
//! decoding and a scaled inverse DCT in one pass, straight into YCbCr planes, each component
//! at its own sampling. It takes only the common case — one interleaved scan of 8-bit,
//! Huffman-coded, three-component YCbCr — and answers `None` for anything else and for any
//! irregularity (a truncated or corrupt scan, a misplaced restart marker), so that libjpeg
//! ([`super::libjpeg_planes_decoder`]) decodes those files as before, with its own recovery.
//!
//! Why not libjpeg here: at a DCT scale it still zeroes and stores all 64 coefficients of
//! every block before its IDCT reads a quarter of them, and it decodes 4:2:0 chroma with a
//! full 8x8 IDCT (scaling chroma up instead of upsampling it) that the resizer then has to
//! halve again. This decoder adds each coefficient that the scaled output can show straight
//! into the block's output samples as it is decoded (a sparse IDCT: most coefficients are
//! zero), and keeps chroma at its own resolution.
//!
//! Each scaled output sample is the average of the block's full reconstruction over its cell,
//! which is what libjpeg's reduced IDCTs approximate: the picture is the same as libjpeg's
//! (the tests compare both with a box-averaged full-size decode).
//!
//! Before decoding, the scan's byte stuffing is undone in one copy ([`EntropyData`]), so that
//! the bit reader needs no branch to refill.

use super::icc::assemble_icc_profile;
use super::planes::{planes_path_takes, JpegPlanes, Plane, PlaneShape, NATURAL_ORDER};

/// Decodes `bytes` at `1/shrink` (2, 4 or 8) into planes, or `None` when the file is not a
/// single-scan baseline YCbCr JPEG this decoder takes, or its scan is not clean. With
/// `halve_full_chroma`, chroma stored at luma's resolution (4:4:4) is decoded at half the
/// luma plane's size (the caller would box-halve it anyway for a 4:2:0 output).
///
/// `stored_size` is the size libjpeg's header read found (the probe every limit was checked
/// against): a frame header of our own read that disagrees is declined before any plane is
/// allocated, so a file that shows the two readers different frames cannot bypass the limit.
pub fn decode(
    bytes: &[u8],
    shrink: u32,
    halve_full_chroma: bool,
    stored_size: (u32, u32),
) -> Option<JpegPlanes> {
    let size = match shrink {
        2 => 4,
        4 => 2,
        8 => 1,
        _ => return None,
    };
    let header = Header::read(bytes)?;
    if (header.frame.width, header.frame.height) != stored_size {
        return None;
    }
    let layout = Layout::of(&header.frame, size, halve_full_chroma)?;
    let mut planes = layout.planes.map(PlaneShape::plane);
    let scan_data = bytes.get(header.scan_data_start..)?;
    decode_scan(&header, &layout, scan_data, &mut planes)?;
    for plane in &mut planes {
        plane.replicate_edges();
    }
    Some(JpegPlanes {
        width: layout.planes[0].width as u32,
        height: layout.planes[0].height as u32,
        planes,
        sampling: layout.sampling,
        icc_profile: header.icc_profile,
    })
}

/// One frame component: its id, sampling factors and quantisation table slot.
#[derive(Clone, Copy)]
struct FrameComponent {
    id: u8,
    h: u32,
    v: u32,
    quant_slot: usize,
}

struct Frame {
    width: u32,
    height: u32,
    components: [FrameComponent; 3],
}

/// A scan component: which frame component, and its DC and AC table slots.
#[derive(Clone, Copy)]
struct ScanComponent {
    frame_index: usize,
    dc_slot: usize,
    ac_slot: usize,
}

/// Everything before the entropy-coded data of the first (and only) scan.
struct Header {
    frame: Frame,
    /// Quantisation tables, zigzag order.
    quant: [Option<[u16; 64]>; 4],
    dc_tables: [Option<HuffmanTable>; 4],
    ac_tables: [Option<HuffmanTable>; 4],
    restart_interval: u32,
    scan: [ScanComponent; 3],
    scan_data_start: usize,
    icc_profile: Option<Vec<u8>>,
}

/// A marker segment's payload after its length field.
fn segment(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    bytes.get(at + 2..at + length.checked_sub(2)?.checked_add(2)?)
}

impl Header {
    fn read(bytes: &[u8]) -> Option<Header> {
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return None;
        }
        let mut frame = None;
        let mut quant = [None; 4];
        let mut dc_tables: [Option<HuffmanTable>; 4] = Default::default();
        let mut ac_tables: [Option<HuffmanTable>; 4] = Default::default();
        let mut restart_interval = 0;
        let (mut jfif, mut adobe_transform) = (false, None);
        let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
        let mut at = 2;
        loop {
            if *bytes.get(at)? != 0xFF {
                return None;
            }
            // Any number of 0xFF fill bytes may precede a marker code.
            while *bytes.get(at + 1)? == 0xFF {
                at += 1;
            }
            let marker = *bytes.get(at + 1)?;
            let payload = segment(bytes, at + 2)?;
            let next = at + 4 + payload.len();
            match marker {
                // Baseline and extended sequential, Huffman coded.
                0xC0 | 0xC1 => {
                    if frame.is_some() {
                        return None;
                    }
                    frame = Some(read_frame(payload)?);
                }
                0xC4 => read_huffman_tables(payload, &mut dc_tables, &mut ac_tables)?,
                0xDB => read_quant_tables(payload, &mut quant)?,
                0xDD => {
                    restart_interval =
                        u32::from(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]))
                }
                0xDA => {
                    let frame = frame?;
                    let scan = read_scan(payload, &frame)?;
                    let colour_is_ycbcr = if jfif {
                        true
                    } else if let Some(transform) = adobe_transform {
                        transform != 0
                    } else {
                        frame.components.map(|c| c.id) != [b'R', b'G', b'B']
                    };
                    if !colour_is_ycbcr {
                        return None;
                    }
                    return Some(Header {
                        frame,
                        quant,
                        dc_tables,
                        ac_tables,
                        restart_interval,
                        scan,
                        scan_data_start: next,
                        icc_profile: assemble_icc_profile(icc_chunks),
                    });
                }
                0xE0 => jfif |= payload.starts_with(b"JFIF\0"),
                0xE2 => {
                    if let Some(rest) = payload.strip_prefix(b"ICC_PROFILE\0") {
                        if rest.len() > 2 {
                            icc_chunks.push((rest[0], &rest[2..]));
                        }
                    }
                }
                0xEE if payload.starts_with(b"Adobe") => adobe_transform = Some(*payload.get(11)?),
                // Other APPn, COM: skipped.
                0xE1 | 0xE3..=0xEF | 0xFE => {}
                // Progressive, lossless, arithmetic coding, hierarchical, DNL, a second SOI,
                // EOI before any scan, stray RSTn: libjpeg's business.
                _ => return None,
            }
            at = next;
        }
    }
}

fn read_frame(payload: &[u8]) -> Option<Frame> {
    let [precision, h1, h0, w1, w0, count, rest @ ..] = payload else {
        return None;
    };
    let (height, width) = (
        u32::from(u16::from_be_bytes([*h1, *h0])),
        u32::from(u16::from_be_bytes([*w1, *w0])),
    );
    if *precision != 8 || *count != 3 || rest.len() < 9 || width == 0 || height == 0 {
        return None;
    }
    let component = |i: usize| {
        let [id, sampling, slot] = [rest[3 * i], rest[3 * i + 1], rest[3 * i + 2]];
        FrameComponent {
            id,
            h: u32::from(sampling >> 4),
            v: u32::from(sampling & 15),
            quant_slot: usize::from(slot),
        }
    };
    let components = [component(0), component(1), component(2)];
    if components.iter().any(|c| c.quant_slot > 3) {
        return None;
    }
    Some(Frame {
        width,
        height,
        components,
    })
}

fn read_quant_tables(mut payload: &[u8], quant: &mut [Option<[u16; 64]>; 4]) -> Option<()> {
    while let [info, rest @ ..] = payload {
        let (precision, slot) = (info >> 4, usize::from(info & 15));
        if slot > 3 {
            return None;
        }
        let mut table = [0u16; 64];
        let used = match precision {
            0 => {
                for (entry, &byte) in table.iter_mut().zip(rest.get(..64)?) {
                    *entry = u16::from(byte);
                }
                64
            }
            1 => {
                for (entry, pair) in table.iter_mut().zip(rest.get(..128)?.chunks_exact(2)) {
                    *entry = u16::from_be_bytes([pair[0], pair[1]]);
                }
                128
            }
            _ => return None,
        };
        quant[slot] = Some(table);
        payload = &rest[used..];
    }
    Some(())
}

fn read_huffman_tables(
    mut payload: &[u8],
    dc_tables: &mut [Option<HuffmanTable>; 4],
    ac_tables: &mut [Option<HuffmanTable>; 4],
) -> Option<()> {
    while let [info, rest @ ..] = payload {
        let (class, slot) = (info >> 4, usize::from(info & 15));
        let counts: [u8; 16] = rest.get(..16)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 {
            return None;
        }
        let symbols = rest.get(16..16 + total)?;
        let table = HuffmanTable::new(&counts, symbols, class == 1)?;
        match (class, slot) {
            (0, 0..=3) => dc_tables[slot] = Some(table),
            (1, 0..=3) => ac_tables[slot] = Some(table),
            _ => return None,
        }
        payload = &rest[16 + total..];
    }
    Some(())
}

/// The scan header: all three components, the full spectrum, no successive approximation.
fn read_scan(payload: &[u8], frame: &Frame) -> Option<[ScanComponent; 3]> {
    let [count, rest @ ..] = payload else {
        return None;
    };
    if *count != 3 || rest.len() != 9 || rest[6..] != [0, 63, 0] {
        return None;
    }
    let mut scan = [ScanComponent {
        frame_index: 0,
        dc_slot: 0,
        ac_slot: 0,
    }; 3];
    let mut seen = [false; 3];
    for (entry, pair) in scan.iter_mut().zip(rest[..6].chunks_exact(2)) {
        let frame_index = frame.components.iter().position(|c| c.id == pair[0])?;
        if std::mem::replace(&mut seen[frame_index], true) {
            return None;
        }
        *entry = ScanComponent {
            frame_index,
            dc_slot: usize::from(pair[1] >> 4),
            ac_slot: usize::from(pair[1] & 15),
        };
        if entry.dc_slot > 3 || entry.ac_slot > 3 {
            return None;
        }
    }
    Some(scan)
}

/// Bits a lookup-table entry resolves at once.
const LOOKUP_BITS: u32 = 11;

/// A Huffman table: a [`LOOKUP_BITS`]-bit lookup for short codes (with the value's extra bits
/// already decoded when they fit too), and the canonical-code arrays for long ones.
#[derive(Clone)]
struct HuffmanTable {
    /// Per `LOOKUP_BITS`-bit prefix: 0 when the code is longer; otherwise bits to consume in
    /// 0..=4, the symbol in 8..=15, [`DECODED`] when bits 16..=31 hold the value (an i16) and
    /// the count includes its extra bits.
    lookup: Box<[u32; 1 << LOOKUP_BITS]>,
    /// Largest code of each length (-1 when none), and where its symbols start.
    max_code: [i32; 17],
    first_code: [i32; 17],
    first_index: [usize; 17],
    symbols: Vec<u8>,
}

const DECODED: u32 = 1 << 7;

impl Default for HuffmanTable {
    fn default() -> Self {
        HuffmanTable {
            lookup: Box::new([0; 1 << LOOKUP_BITS]),
            max_code: [-1; 17],
            first_code: [0; 17],
            first_index: [0; 17],
            symbols: Vec::new(),
        }
    }
}

/// The value of `size` extra bits `bits` (JPEG's EXTEND: a leading 0 means negative).
#[inline(always)]
fn extend(bits: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if bits < 1 << (size - 1) {
        bits as i32 - (1 << size) + 1
    } else {
        bits as i32
    }
}

impl HuffmanTable {
    fn new(counts: &[u8; 16], symbols: &[u8], ac: bool) -> Option<HuffmanTable> {
        let mut table = HuffmanTable {
            symbols: symbols.to_vec(),
            ..HuffmanTable::default()
        };
        let mut code = 0i32;
        let mut index = 0usize;
        for (length, &count) in (1..=16).zip(counts) {
            let count = i32::from(count);
            // As libjpeg: the codes must fit their length without an all-ones code (checked
            // before any of them goes into the lookup, which holds only codes that fit).
            if count > 0 && code + count >= 1 << length {
                return None;
            }
            table.first_code[length] = code;
            table.first_index[length] = index;
            if count > 0 {
                table.max_code[length] = code + count - 1;
            }
            for _ in 0..count {
                if length as u32 <= LOOKUP_BITS {
                    table.fill_lookup(code as u32, length as u32, symbols[index], ac);
                }
                code += 1;
                index += 1;
            }
            code <<= 1;
        }
        Some(table)
    }

    fn fill_lookup(&mut self, code: u32, length: u32, symbol: u8, ac: bool) {
        let size = if ac {
            u32::from(symbol & 15)
        } else {
            u32::from(symbol)
        };
        let free = LOOKUP_BITS - length;
        for tail in 0..1u32 << free {
            let entry = if length + size <= LOOKUP_BITS {
                let extra = (tail >> (free - size)) & ((1 << size) - 1);
                let value = extend(extra, size) as i16 as u16;
                (u32::from(value) << 16) | (u32::from(symbol) << 8) | DECODED | (length + size)
            } else {
                (u32::from(symbol) << 8) | length
            };
            self.lookup[((code << free) | tail) as usize] = entry;
        }
    }

    /// A code longer than the lookup resolves, bit by bit from `LOOKUP_BITS + 1`. Inlined
    /// (as everything that touches the reader) so that the reader's state stays in registers.
    #[inline(always)]
    fn slow_symbol(&self, bits: &mut BitReader<'_>) -> Option<u8> {
        let peeked = bits.peek(16);
        for length in LOOKUP_BITS as usize + 1..=16 {
            let code = (peeked >> (16 - length)) as i32;
            if code <= self.max_code[length] {
                bits.consume(length as u32);
                let at = self.first_index[length] + (code - self.first_code[length]) as usize;
                return self.symbols.get(at).copied();
            }
        }
        None
    }
}

/// Zero bytes after each segment of [`EntropyData`]: a reader that looks ahead past a
/// segment's end (peeking a code's worth of bits, loading a whole word) sees zeros.
const SEGMENT_PADDING: usize = 16;

/// The scan's entropy-coded data with byte stuffing undone, cut at its restart markers, each
/// piece (segment) followed by [`SEGMENT_PADDING`] zero bytes.
///
/// Why a copy: with the stuffing gone before decoding starts, the bit reader can top up its
/// buffer with one unconditional word load per symbol instead of a branch that looks for
/// 0xFF bytes (a branch the CPU mispredicted every few symbols).
struct EntropyData {
    bytes: Vec<u8>,
    segments: Vec<Segment>,
}

struct Segment {
    start: usize,
    length: usize,
    /// The code of the marker that ends the segment; 0xD9 also stands for "the data ended".
    marker: u8,
}

impl EntropyData {
    /// Undoes the stuffing of `data`, or `None` when it holds more than `max_restarts`
    /// restart markers: a clean scan has one per restart interval, and a file of nothing but
    /// `FF D0` would otherwise cost a segment record and its padding for every two bytes.
    fn unstuff(data: &[u8], max_restarts: usize) -> Option<EntropyData> {
        let mut entropy = EntropyData {
            bytes: Vec::with_capacity(data.len() + 2 * SEGMENT_PADDING),
            segments: Vec::new(),
        };
        let mut at = 0;
        let last_marker = loop {
            let Some(offset) = memchr::memchr(0xFF, &data[at..]) else {
                entropy.bytes.extend_from_slice(&data[at..]);
                break 0xD9;
            };
            entropy.bytes.extend_from_slice(&data[at..at + offset]);
            at += offset;
            match data.get(at + 1) {
                Some(0x00) => {
                    entropy.bytes.push(0xFF);
                    at += 2;
                }
                // A fill byte before a marker.
                Some(0xFF) => at += 1,
                Some(&code) if (0xD0..=0xD7).contains(&code) => {
                    if entropy.segments.len() >= max_restarts {
                        return None;
                    }
                    entropy.end_segment(code);
                    at += 2;
                }
                Some(&code) => break code,
                None => break 0xD9,
            }
        };
        entropy.end_segment(last_marker);
        Some(entropy)
    }

    /// Closes the segment that began after the previous one's padding, ended by `marker`.
    fn end_segment(&mut self, marker: u8) {
        let start = self
            .segments
            .last()
            .map_or(0, |last| last.start + last.length + SEGMENT_PADDING);
        self.segments.push(Segment {
            start,
            length: self.bytes.len() - start,
            marker,
        });
        self.bytes.resize(self.bytes.len() + SEGMENT_PADDING, 0);
    }
}

/// Bits of one segment of [`EntropyData`], most significant first. Past the segment's end it
/// reads its zero padding (and, further on, whatever follows); [`BitReader::clean`] tells
/// whether only the segment's own bits were consumed.
struct BitReader<'a> {
    data: &'a EntropyData,
    segment: usize,
    /// The next byte to load into `buffer`.
    at: usize,
    /// Bits waiting, most significant first, `count` of them valid; the bits below them are
    /// the following data, already in place (or zero).
    buffer: u64,
    count: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a EntropyData) -> BitReader<'a> {
        BitReader {
            data,
            segment: 0,
            at: data.segments.first().map_or(0, |segment| segment.start),
            buffer: 0,
            count: 0,
        }
    }

    /// Tops the buffer up to 56..=63 bits, branch-free: one big-endian word load, and `at`
    /// moves by the whole bytes that fitted.
    #[inline(always)]
    fn refill(&mut self) {
        // `bytes` ends with a segment's padding, so it holds at least 8 bytes; clamping keeps
        // a reader that ran away past the end inside it (it is not clean any more anyway).
        let load_at = self.at.min(self.data.bytes.len() - 8);
        let word = self.data.bytes[load_at..load_at + 8]
            .try_into()
            .map_or(0, u64::from_be_bytes);
        self.buffer |= word >> self.count;
        self.at += ((63 - self.count) >> 3) as usize;
        self.count |= 56;
    }

    #[inline(always)]
    fn peek(&self, bits: u32) -> u32 {
        (self.buffer >> (64 - bits)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, bits: u32) {
        self.buffer <<= bits;
        self.count -= bits;
    }

    #[inline(always)]
    fn take(&mut self, bits: u32) -> u32 {
        if bits == 0 {
            return 0;
        }
        let value = self.peek(bits);
        self.consume(bits);
        value
    }

    /// The current segment's bits not consumed yet (negative once the reader ran past it).
    fn bits_left(&self) -> i64 {
        let Some(segment) = self.data.segments.get(self.segment) else {
            return -1;
        };
        let consumed = (self.at - segment.start) as i64 * 8 - i64::from(self.count);
        segment.length as i64 * 8 - consumed
    }

    /// Whether only the segment's own bits were read so far.
    fn clean(&self) -> bool {
        self.bits_left() >= 0
    }

    /// At a restart point: the bits left must be the encoder's byte padding and the segment
    /// must end with RSTn for the expected `n`; then reading goes on in the next segment.
    fn restart(&mut self, expected: u8) -> Option<()> {
        if !(0..8).contains(&self.bits_left()) {
            return None;
        }
        if self.data.segments.get(self.segment)?.marker != 0xD0 + expected {
            return None;
        }
        self.segment += 1;
        self.at = self.data.segments.get(self.segment)?.start;
        self.buffer = 0;
        self.count = 0;
        Some(())
    }
}

/// Where each component's samples go, and at which IDCT size (samples per block side).
struct Layout {
    sizes: [usize; 3],
    mcu_columns: usize,
    mcu_rows: usize,
    planes: [PlaneShape; 3],
    sampling: [(f64, f64); 3],
}

impl Layout {
    /// The planes for `frame` at `size`, or `None` for a sampling the planes path does not
    /// take ([`planes_path_takes`]) or this decoder leaves to libjpeg (a factor of 3).
    fn of(frame: &Frame, size: u32, halve_full_chroma: bool) -> Option<Layout> {
        let factors = frame.components.map(|c| (c.h, c.v));
        if !planes_path_takes(&factors) || factors.iter().any(|&(h, v)| h == 3 || v == 3) {
            return None;
        }
        let [luma, cb, _] = frame.components;
        let (max_h, max_v) = (luma.h, luma.v);
        let mcu_columns = frame.width.div_ceil(max_h * 8) as usize;
        let mcu_rows = frame.height.div_ceil(max_v * 8) as usize;
        let halve_chroma = halve_full_chroma && size > 1 && (cb.h, cb.v) == (max_h, max_v);
        let sizes = [size, size, size].map(|s| s as usize);
        let sizes = if halve_chroma {
            [sizes[0], sizes[1] / 2, sizes[2] / 2]
        } else {
            sizes
        };
        let shape = |(c, size): (FrameComponent, usize)| {
            PlaneShape::of_component(
                (frame.width, frame.height),
                (c.h, c.v),
                (max_h, max_v),
                size as u32,
            )
        };
        let luma_size = sizes[0] as f64;
        let sampling = |(c, size): (FrameComponent, usize)| {
            let scale = size as f64 / luma_size;
            (
                scale * f64::from(c.h) / f64::from(max_h),
                scale * f64::from(c.v) / f64::from(max_v),
            )
        };
        let with_sizes = [0, 1, 2].map(|i| (frame.components[i], sizes[i]));
        Some(Layout {
            sizes,
            mcu_columns,
            mcu_rows,
            planes: with_sizes.map(shape),
            sampling: with_sizes.map(sampling),
        })
    }
}

/// For one quantisation table at one IDCT size: per zigzag position, the dequantised
/// contribution of a unit coefficient to each of the `size` x `size` output samples (row
/// major, padded to 16, exactly zero where the position does not contribute).
///
/// Each output sample is the average of the block's full 8x8 reconstruction over its cell
/// (8 / `size` pixels a side) — a full-size decode box-averaged, without the intermediate
/// rounding. libjpeg's reduced IDCTs approximate the same averages, and like them it drops the
/// frequencies whose averages vanish (row or column 4 at 1/2; 2, 4, 6 as well at 1/4;
/// everything but DC at 1/8).
struct ScaledBasis {
    dc: f32,
    ac: Box<[[f32; 16]; 64]>,
}

impl ScaledBasis {
    fn new(quant: &[u16; 64], size: usize) -> ScaledBasis {
        let cell = 8 / size;
        // The 1-D basis averaged over a cell: sample `sample` of frequency `frequency`.
        let averaged = |sample: usize, frequency: usize| {
            let scale = if frequency == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            let sum: f64 = (sample * cell..(sample + 1) * cell)
                .map(|pixel| {
                    ((2 * pixel + 1) as f64 * frequency as f64 * std::f64::consts::PI / 16.0).cos()
                })
                .sum();
            scale * sum / cell as f64
        };
        let mut averages = [[0f64; 8]; 8];
        for (sample, row) in averages.iter_mut().enumerate().take(size) {
            for (frequency, average) in row.iter_mut().enumerate() {
                *average = averaged(sample, frequency);
            }
        }
        let mut ac = Box::new([[0f32; 16]; 64]);
        for (zigzag, basis) in ac.iter_mut().enumerate().skip(1) {
            let natural = NATURAL_ORDER[zigzag];
            let (row, column) = (natural / 8, natural % 8);
            for y in 0..size {
                for x in 0..size {
                    let weight = averages[y][row] * averages[x][column] / 4.0;
                    // The averages that vanish come out as rounding residue: make them exact
                    // zeros, so that the coefficients the scale drops add nothing.
                    if weight.abs() > 1e-9 {
                        basis[y * size + x] = (f64::from(quant[zigzag]) * weight) as f32;
                    }
                }
            }
        }
        ScaledBasis {
            dc: (f64::from(quant[0]) / 8.0) as f32,
            ac,
        }
    }
}

/// Decodes the scan's MCUs into `planes` (AVX2 + FMA code generation when the CPU has them).
fn decode_scan(
    header: &Header,
    layout: &Layout,
    data: &[u8],
    planes: &mut [Plane; 3],
) -> Option<()> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { decode_scan_avx2(header, layout, data, planes) };
    }
    decode_scan_portable::<false>(header, layout, data, planes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn decode_scan_avx2(
    header: &Header,
    layout: &Layout,
    data: &[u8],
    planes: &mut [Plane; 3],
) -> Option<()> {
    decode_scan_portable::<true>(header, layout, data, planes)
}

/// One scan component's decoding state.
struct ComponentState<'h> {
    dc_table: &'h HuffmanTable,
    ac_table: &'h HuffmanTable,
    basis: &'h ScaledBasis,
    /// IDCT size: output samples per block side.
    size: usize,
    plane: usize,
    h: usize,
    v: usize,
    predictor: i32,
}

/// `AVX`: compiled into [`decode_scan_avx2`], where AVX2 and FMA may be used.
#[inline(always)]
fn decode_scan_portable<const AVX: bool>(
    header: &Header,
    layout: &Layout,
    data: &[u8],
    planes: &mut [Plane; 3],
) -> Option<()> {
    // One basis per (quantisation table, IDCT size): Cb and Cr usually share theirs.
    let basis_key = |scan: &ScanComponent| {
        (
            header.frame.components[scan.frame_index].quant_slot,
            layout.sizes[scan.frame_index],
        )
    };
    let mut bases: Vec<((usize, usize), ScaledBasis)> = Vec::with_capacity(3);
    for scan in &header.scan {
        let key = basis_key(scan);
        if !bases.iter().any(|(built, _)| *built == key) {
            bases.push((key, ScaledBasis::new(header.quant[key.0].as_ref()?, key.1)));
        }
    }
    let mut components = Vec::with_capacity(3);
    for scan in &header.scan {
        let frame = header.frame.components[scan.frame_index];
        let key = basis_key(scan);
        components.push(ComponentState {
            dc_table: header.dc_tables[scan.dc_slot].as_ref()?,
            ac_table: header.ac_tables[scan.ac_slot].as_ref()?,
            basis: &bases.iter().find(|(built, _)| *built == key)?.1,
            size: layout.sizes[scan.frame_index],
            plane: scan.frame_index,
            h: frame.h as usize,
            v: frame.v as usize,
            predictor: 0,
        });
    }
    let restarts = match header.restart_interval {
        0 => 0,
        interval => (layout.mcu_rows * layout.mcu_columns).div_ceil(interval as usize),
    };
    let entropy = EntropyData::unstuff(data, restarts)?;
    let mut bits = BitReader::new(&entropy);
    let mut until_restart = header.restart_interval;
    let mut next_restart = 0u8;
    for mcu_row in 0..layout.mcu_rows {
        for mcu_column in 0..layout.mcu_columns {
            if header.restart_interval > 0 {
                if until_restart == 0 {
                    bits.restart(next_restart)?;
                    next_restart = (next_restart + 1) % 8;
                    until_restart = header.restart_interval;
                    for component in &mut components {
                        component.predictor = 0;
                    }
                }
                until_restart -= 1;
            }
            for component in &mut components {
                let plane = &mut planes[component.plane];
                let size = component.size;
                for block_y in 0..component.v {
                    for block_x in 0..component.h {
                        let x = (mcu_column * component.h + block_x) * size;
                        let y = (mcu_row * component.v + block_y) * size;
                        // One copy of the block code per IDCT size, so that its per-sample
                        // loops are unrolled.
                        match size {
                            4 => {
                                let samples = decode_block::<4, AVX>(&mut bits, component)?;
                                store_block::<4>(plane, x, y, &samples);
                            }
                            2 => {
                                let samples = decode_block::<2, AVX>(&mut bits, component)?;
                                store_block::<2>(plane, x, y, &samples);
                            }
                            _ => {
                                let samples = decode_block::<1, AVX>(&mut bits, component)?;
                                store_block::<1>(plane, x, y, &samples);
                            }
                        }
                    }
                }
            }
        }
    }
    bits.clean().then_some(())
}

/// Huffman-decodes one block and returns its `SIZE` x `SIZE` output samples (unclamped,
/// level-shifted, plus 0.5), adding each coefficient the scaled output can show as it comes.
#[inline(always)]
fn decode_block<const SIZE: usize, const AVX: bool>(
    bits: &mut BitReader<'_>,
    component: &mut ComponentState<'_>,
) -> Option<[f32; 16]> {
    bits.refill();
    let entry = component.dc_table.lookup[bits.peek(LOOKUP_BITS) as usize];
    let difference = if entry & DECODED != 0 {
        bits.consume(entry & 31);
        i32::from((entry >> 16) as u16 as i16)
    } else {
        let symbol = if entry != 0 {
            bits.consume(entry & 31);
            (entry >> 8) as u8
        } else {
            component.dc_table.slow_symbol(bits)?
        };
        let extra = u32::from(symbol);
        if extra > 11 {
            return None;
        }
        // The buffer held 56 bits: the code took at most 16, these at most 11.
        extend(bits.take(extra), extra)
    };
    component.predictor = component.predictor.wrapping_add(difference);
    // Level shift, plus the 0.5 that makes the truncation in `rounded_bytes` round half up
    // (as libjpeg's descaling does).
    let dc = component.predictor as f32 * component.basis.dc + 128.5;
    let mut samples = [dc; 16];

    // Loaded once: the loop below writes through `bits`, so the compiler would otherwise
    // reload these through `component` for every coefficient.
    let table = component.ac_table;
    let lookup: &[u32; 1 << LOOKUP_BITS] = &table.lookup;
    let ac_basis: &[[f32; 16]; 64] = &component.basis.ac;
    let mut k = 1usize;
    while k < 64 {
        // At least 56 bits after this: a symbol takes at most 16 + 15.
        bits.refill();
        let entry = lookup[bits.peek(LOOKUP_BITS) as usize];
        let (symbol, value) = if entry & DECODED != 0 {
            bits.consume(entry & 31);
            ((entry >> 8) as u8, i32::from((entry >> 16) as u16 as i16))
        } else {
            let symbol = if entry != 0 {
                bits.consume(entry & 31);
                (entry >> 8) as u8
            } else {
                table.slow_symbol(bits)?
            };
            let extra = u32::from(symbol & 15);
            (symbol, extend(bits.take(extra), extra))
        };
        let run = usize::from(symbol >> 4);
        if symbol & 15 == 0 {
            match run {
                // End of block.
                0 => break,
                // Sixteen zeros.
                15 => {
                    k += 16;
                    continue;
                }
                _ => return None,
            }
        }
        k += run;
        if k > 63 {
            return None;
        }
        // Every coefficient is added, including those whose basis is all zero at this scale:
        // a test for them was a branch the CPU mispredicted often at 1/4.
        if SIZE > 1 {
            accumulate::<SIZE, AVX>(&mut samples, value as f32, &ac_basis[k & 63]);
        }
        k += 1;
    }
    Some(samples)
}

/// `samples += value * basis` over the block's `SIZE` x `SIZE` samples.
#[inline(always)]
fn accumulate<const SIZE: usize, const AVX: bool>(
    samples: &mut [f32; 16],
    value: f32,
    basis: &[f32; 16],
) {
    #[cfg(target_arch = "x86_64")]
    if AVX && SIZE == 4 {
        // SAFETY: `AVX` is only true in `decode_scan_avx2`, which runs on CPUs with AVX2 and
        // FMA.
        unsafe { accumulate16_avx2(samples, value, basis) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if AVX && SIZE == 2 {
        // SAFETY: as above.
        unsafe { accumulate4_fma(samples, value, basis) };
        return;
    }
    for (sample, weight) in samples[..SIZE * SIZE].iter_mut().zip(basis) {
        *sample += value * weight;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn accumulate16_avx2(samples: &mut [f32; 16], value: f32, basis: &[f32; 16]) {
    use std::arch::x86_64::*;
    let value = _mm256_set1_ps(value);
    // SAFETY: both arrays hold 16 floats: two 8-lane loads (and stores) each.
    unsafe {
        for half in [0, 8] {
            let sample = _mm256_loadu_ps(samples.as_ptr().add(half));
            let weight = _mm256_loadu_ps(basis.as_ptr().add(half));
            _mm256_storeu_ps(
                samples.as_mut_ptr().add(half),
                _mm256_fmadd_ps(value, weight, sample),
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn accumulate4_fma(samples: &mut [f32; 16], value: f32, basis: &[f32; 16]) {
    use std::arch::x86_64::*;
    // SAFETY: both arrays hold 16 floats; one 4-lane load (and store) each reads the first four.
    unsafe {
        let sample = _mm_loadu_ps(samples.as_ptr());
        let weight = _mm_loadu_ps(basis.as_ptr());
        _mm_storeu_ps(
            samples.as_mut_ptr(),
            _mm_fmadd_ps(_mm_set1_ps(value), weight, sample),
        );
    }
}

/// Rounds, clamps and writes one block's samples at (`x`, `y`) of `plane`.
#[inline(always)]
fn store_block<const SIZE: usize>(plane: &mut Plane, x: usize, y: usize, samples: &[f32; 16]) {
    let bytes = rounded_bytes(samples);
    let stride = plane.stride;
    for (row, values) in bytes.chunks_exact(SIZE).take(SIZE).enumerate() {
        let start = (y + row) * stride + x;
        if let Some(out) = plane.data.get_mut(start..start + SIZE) {
            out.copy_from_slice(values);
        }
    }
}

/// The samples (which carry +0.5) truncated and clamped to 0..=255, all sixteen at once.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rounded_bytes(samples: &[f32; 16]) -> [u8; 16] {
    use std::arch::x86_64::*;
    let mut bytes = [0u8; 16];
    // SAFETY: SSE2 is part of x86_64; the loads read the 16 floats of `samples` and the store
    // writes the 16 bytes of `bytes`. Out-of-range values (and NaN, which converts to
    // i32::MIN) saturate in the packs.
    unsafe {
        let at = samples.as_ptr();
        let quarter = |offset: usize| _mm_cvttps_epi32(_mm_loadu_ps(at.add(offset)));
        let low = _mm_packs_epi32(quarter(0), quarter(4));
        let high = _mm_packs_epi32(quarter(8), quarter(12));
        _mm_storeu_si128(
            bytes.as_mut_ptr().cast::<__m128i>(),
            _mm_packus_epi16(low, high),
        );
    }
    bytes
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rounded_bytes(samples: &[f32; 16]) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    for (byte, &value) in bytes.iter_mut().zip(samples) {
        *byte = value.clamp(0.0, 255.0) as u8;
    }
    bytes
}

#[cfg(test)]
#[path = "baseline_decoder_tests.rs"]
mod tests;
