//! Progressive JPEG straight from YCbCr 4:2:0 planes: libjpeg's integer forward DCT and
//! quantisation, libjpeg's standard progression script (spectral selection and successive
//! approximation, as Pillow writes with `progressive=True`), and an optimal Huffman table per
//! scan. The output is byte-for-byte what mozjpeg writes for the same planes with
//! libjpeg-turbo's settings (the tests compare them).
//!
//! Why not mozjpeg here: with optimised tables libjpeg codes every progressive scan twice (once
//! to count symbols, once to write them), which made the encode 2.4x slower than a baseline one.
//! This writer computes each scan's symbols once, counts them, builds the tables and then only
//! writes the recorded symbols.

use super::icc::icc_marker_payloads;
use super::planes::{Plane, YccImage, NATURAL_ORDER};
use crate::imaging::ImagingError;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// ITU-T T.81 Annex K tables (natural order), the ones libjpeg and Pillow scale by quality.
const LUMA_QUANT: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// libjpeg cannot store a side longer than this (the RGB encoder checks it too).
pub const JPEG_MAX_SIDE: u32 = 65_500;

/// Writes `image` as a progressive JPEG at `quality` (1..=100, libjpeg's scale), embedding
/// `icc` when given.
pub fn encode(image: &YccImage, quality: u8, icc: Option<&[u8]>) -> Result<Vec<u8>, ImagingError> {
    if image.width == 0 || image.height == 0 {
        return Err(ImagingError::Encode("jpeg: empty image".into()));
    }
    if image.width > JPEG_MAX_SIDE || image.height > JPEG_MAX_SIDE {
        return Err(ImagingError::Encode(format!(
            "{}x{} is too large for JPEG",
            image.width, image.height
        )));
    }
    let (chroma_width, chroma_height) = image.chroma_size();
    let sizes = image
        .planes
        .each_ref()
        .map(|plane| (plane.width, plane.height));
    let expected = [
        (image.width as usize, image.height as usize),
        (chroma_width as usize, chroma_height as usize),
        (chroma_width as usize, chroma_height as usize),
    ];
    if sizes != expected {
        return Err(ImagingError::Encode(format!(
            "jpeg: planes {sizes:?} do not make a 4:2:0 image of {}x{}",
            image.width, image.height
        )));
    }
    let quant = [
        scaled_quant_table(&LUMA_QUANT, quality),
        scaled_quant_table(&CHROMA_QUANT, quality),
    ];
    let grid = McuGrid::new(image.width, image.height);
    let components = [
        Component::transform(&image.planes[0], &grid, 2, &quant[0])?,
        Component::transform(&image.planes[1], &grid, 1, &quant[1])?,
        Component::transform(&image.planes[2], &grid, 1, &quant[1])?,
    ];

    let mut out = Vec::with_capacity(image.width as usize * image.height as usize / 6 + 1024);
    write_headers(&mut out, image, &quant, icc);
    let mut tokens = Tokens::default();
    for scan in &PROGRESSION {
        tokens.clear();
        scan.tokenize(&components, &grid, &mut tokens);
        scan.write(&mut out, &tokens);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

/// libjpeg's `jpeg_set_quality` (without forcing baseline): quality → percentage scale,
/// entries clamped to 1..=32767.
fn scaled_quant_table(base: &[u16; 64], quality: u8) -> [u16; 64] {
    let quality = u32::from(quality.clamp(1, 100));
    let scale = if quality < 50 {
        5000 / quality
    } else {
        200 - quality * 2
    };
    base.map(|q| ((u32::from(q) * scale + 50) / 100).clamp(1, 32767) as u16)
}

/// The MCU grid of 4:2:0: 16x16 pixels, four Y blocks and one block of each chroma plane.
struct McuGrid {
    columns: usize,
    rows: usize,
}

impl McuGrid {
    fn new(width: u32, height: u32) -> McuGrid {
        McuGrid {
            columns: (width as usize).div_ceil(16),
            rows: (height as usize).div_ceil(16),
        }
    }
}

/// One component's quantised coefficients, each block in zigzag order. The block grid covers
/// whole MCUs; blocks past the image's own blocks are libjpeg's "dummy" blocks (AC zero, DC
/// copied from the neighbour), which only interleaved (DC) scans code.
struct Component {
    blocks: Vec<[i16; 64]>,
    /// Blocks per row of `blocks` (whole MCUs).
    stride: usize,
    /// The image's own blocks, what single-component scans code.
    width_in_blocks: usize,
    height_in_blocks: usize,
    /// Blocks per MCU side (2 for Y, 1 for chroma).
    sampling: usize,
}

impl Component {
    fn transform(
        plane: &Plane,
        grid: &McuGrid,
        sampling: usize,
        quant: &[u16; 64],
    ) -> Result<Component, ImagingError> {
        let width_in_blocks = plane.width.div_ceil(8);
        let height_in_blocks = plane.height.div_ceil(8);
        if plane.stride < width_in_blocks * 8
            || plane.rows < height_in_blocks * 8
            || plane.data.len() < plane.stride * plane.rows
        {
            return Err(ImagingError::Encode(
                "jpeg: plane not padded to blocks".into(),
            ));
        }
        let stride = grid.columns * sampling;
        let rows = grid.rows * sampling;
        let divisors = Divisors::new(quant);
        let mut blocks = vec![[0i16; 64]; stride * rows];
        transform_blocks(
            plane,
            &divisors,
            &mut blocks,
            stride,
            width_in_blocks,
            height_in_blocks,
        );
        // Dummy blocks at the right of each row, then dummy rows at the bottom whose DCs match
        // the last real block of their MCU (libjpeg's choice: it costs the fewest bits).
        for by in 0..height_in_blocks {
            let row = &mut blocks[by * stride..(by + 1) * stride];
            let last_dc = row[width_in_blocks - 1][0];
            for block in &mut row[width_in_blocks..] {
                block[0] = last_dc;
            }
        }
        for by in height_in_blocks..rows {
            for mcu in 0..grid.columns {
                let last_dc = blocks[(by - 1) * stride + mcu * sampling + sampling - 1][0];
                for bx in mcu * sampling..(mcu + 1) * sampling {
                    blocks[by * stride + bx][0] = last_dc;
                }
            }
        }
        Ok(Component {
            blocks,
            stride,
            width_in_blocks,
            height_in_blocks,
            sampling,
        })
    }

    /// The image's own blocks in raster order (a single-component scan's order).
    fn own_blocks(&self) -> impl Iterator<Item = &[i16; 64]> {
        self.blocks
            .chunks_exact(self.stride)
            .take(self.height_in_blocks)
            .flat_map(|row| &row[..self.width_in_blocks])
    }
}

/// Forward DCT and quantisation of every block of `plane` the image covers, with AVX2 when
/// the CPU has it (the same code, compiled for wider vectors).
fn transform_blocks(
    plane: &Plane,
    divisors: &Divisors,
    blocks: &mut [[i16; 64]],
    stride: usize,
    width_in_blocks: usize,
    height_in_blocks: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe {
            transform_blocks_avx2(
                plane,
                divisors,
                blocks,
                stride,
                width_in_blocks,
                height_in_blocks,
            )
        };
        return;
    }
    transform_blocks_portable(
        plane,
        divisors,
        blocks,
        stride,
        width_in_blocks,
        height_in_blocks,
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transform_blocks_avx2(
    plane: &Plane,
    divisors: &Divisors,
    blocks: &mut [[i16; 64]],
    stride: usize,
    width_in_blocks: usize,
    height_in_blocks: usize,
) {
    transform_blocks_portable(
        plane,
        divisors,
        blocks,
        stride,
        width_in_blocks,
        height_in_blocks,
    );
}

#[inline(always)]
fn transform_blocks_portable(
    plane: &Plane,
    divisors: &Divisors,
    blocks: &mut [[i16; 64]],
    stride: usize,
    width_in_blocks: usize,
    height_in_blocks: usize,
) {
    for by in 0..height_in_blocks {
        for bx in 0..width_in_blocks {
            // Transposed load: lane r of `columns[i]` is sample (row r, column i).
            let mut columns: Block = [[0; 8]; 8];
            for r in 0..8 {
                let start = (by * 8 + r) * plane.stride + bx * 8;
                let row = &plane.data[start..start + 8];
                for (column, &pixel) in columns.iter_mut().zip(row) {
                    column[r] = i32::from(pixel) - 128;
                }
            }
            let coefficients = forward_dct(&columns);
            divisors.quantize(&coefficients, &mut blocks[by * stride + bx]);
        }
    }
}

/// Eight vectors of eight lanes.
type Block = [[i32; 8]; 8];

/// libjpeg's "islow" forward DCT (the Loeffler–Ligtenberg–Moschytz factorisation in 13-bit
/// fixed point, rows first): the output is 8x the orthonormal DCT, rounded as libjpeg rounds
/// it, so that quantisation gives libjpeg's coefficients exactly. Takes the block as columns
/// (`columns[i][r]` = sample at row r, column i) and returns rows (`[m][k]` = coefficient at
/// row m, column k). Every step is lane-wise, so it runs eight rows (then columns) at once.
#[inline(always)]
fn forward_dct(columns: &Block) -> Block {
    let row_pass = dct_pass(columns, true);
    let mut transposed: Block = [[0; 8]; 8];
    for (k, lanes) in row_pass.iter().enumerate() {
        for (r, &value) in lanes.iter().enumerate() {
            transposed[r][k] = value;
        }
    }
    dct_pass(&transposed, false)
}

/// One 1-D pass on all eight lanes: `input[i]` holds sample i of eight sequences.
#[inline(always)]
fn dct_pass(input: &Block, first: bool) -> Block {
    const CONST_BITS: u32 = 13;
    const PASS1_BITS: u32 = 2;
    const F0_298: i32 = 2446;
    const F0_390: i32 = 3196;
    const F0_541: i32 = 4433;
    const F0_765: i32 = 6270;
    const F0_899: i32 = 7373;
    const F1_175: i32 = 9633;
    const F1_501: i32 = 12299;
    const F1_847: i32 = 15137;
    const F1_961: i32 = 16069;
    const F2_053: i32 = 16819;
    const F2_562: i32 = 20995;
    const F3_072: i32 = 25172;
    let rotated_shift = if first {
        CONST_BITS - PASS1_BITS
    } else {
        CONST_BITS + PASS1_BITS
    };
    let descale = |x: i32, n: u32| (x + (1 << (n - 1))) >> n;
    let mut out: Block = [[0; 8]; 8];
    for lane in 0..8 {
        let d = |i: usize| input[i][lane];
        let tmp0 = d(0) + d(7);
        let tmp7 = d(0) - d(7);
        let tmp1 = d(1) + d(6);
        let tmp6 = d(1) - d(6);
        let tmp2 = d(2) + d(5);
        let tmp5 = d(2) - d(5);
        let tmp3 = d(3) + d(4);
        let tmp4 = d(3) - d(4);

        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        if first {
            out[0][lane] = (tmp10 + tmp11) << PASS1_BITS;
            out[4][lane] = (tmp10 - tmp11) << PASS1_BITS;
        } else {
            out[0][lane] = descale(tmp10 + tmp11, PASS1_BITS);
            out[4][lane] = descale(tmp10 - tmp11, PASS1_BITS);
        }
        let z1 = (tmp12 + tmp13) * F0_541;
        out[2][lane] = descale(z1 + tmp13 * F0_765, rotated_shift);
        out[6][lane] = descale(z1 - tmp12 * F1_847, rotated_shift);

        let z1 = tmp4 + tmp7;
        let z2 = tmp5 + tmp6;
        let z3 = tmp4 + tmp6;
        let z4 = tmp5 + tmp7;
        let z5 = (z3 + z4) * F1_175;
        let tmp4 = tmp4 * F0_298;
        let tmp5 = tmp5 * F2_053;
        let tmp6 = tmp6 * F3_072;
        let tmp7 = tmp7 * F1_501;
        let z1 = -z1 * F0_899;
        let z2 = -z2 * F2_562;
        let z3 = -z3 * F1_961 + z5;
        let z4 = -z4 * F0_390 + z5;
        out[7][lane] = descale(tmp4 + z1 + z3, rotated_shift);
        out[5][lane] = descale(tmp5 + z2 + z4, rotated_shift);
        out[3][lane] = descale(tmp6 + z2 + z3, rotated_shift);
        out[1][lane] = descale(tmp7 + z1 + z4, rotated_shift);
    }
    out
}

/// Division by 8 x the quantiser with libjpeg-turbo's rounding, done as libjpeg-turbo does it
/// (a 16-bit reciprocal and a correction term) so the results match its SIMD quantiser.
struct Divisors {
    /// Per natural index.
    reciprocals: [u32; 64],
    corrections: [u32; 64],
    shifts: [u32; 64],
}

impl Divisors {
    fn new(quant: &[u16; 64]) -> Divisors {
        let entries = quant.map(|q| reciprocal(u32::from(q) * 8));
        Divisors {
            reciprocals: entries.map(|e| e.0),
            corrections: entries.map(|e| e.1),
            shifts: entries.map(|e| e.2),
        }
    }

    /// Quantises natural-order DCT output (`rows[m][k]`) into zigzag order.
    #[inline(always)]
    fn quantize(&self, rows: &Block, block: &mut [i16; 64]) {
        let mut quantized = [0i16; 64];
        for (i, q) in quantized.iter_mut().enumerate() {
            let value = rows[i / 8][i % 8];
            let magnitude = ((value.unsigned_abs() + self.corrections[i]) * self.reciprocals[i])
                >> self.shifts[i];
            let magnitude = magnitude as i16;
            *q = if value < 0 { -magnitude } else { magnitude };
        }
        for (out, &natural) in block.iter_mut().zip(&NATURAL_ORDER) {
            *out = quantized[natural];
        }
    }
}

/// (reciprocal, correction, shift) with `(x + correction) * reciprocal >> shift` equal to
/// libjpeg-turbo's quotient of `x` by `divisor` for every DCT output `x`.
fn reciprocal(divisor: u32) -> (u32, u32, u32) {
    if divisor == 1 {
        return (1, 0, 0);
    }
    let mut shift = 16 + (31 - divisor.leading_zeros());
    let mut quotient = (1u32 << shift) / divisor;
    let remainder = (1u32 << shift) % divisor;
    let mut correction = divisor / 2;
    if remainder == 0 {
        quotient >>= 1;
        shift -= 1;
    } else if remainder <= divisor / 2 {
        correction += 1;
    } else {
        quotient += 1;
    }
    (quotient, correction, shift)
}

/// One scan of the progression: components (indices), spectral band and bit positions.
struct Scan {
    components: &'static [usize],
    start: usize,
    end: usize,
    /// Ah: the bit position coded by the previous scan of this band (0 for a first scan).
    high: u32,
    /// Al: the bit position this scan codes down to.
    low: u32,
}

/// libjpeg's `jpeg_simple_progression` for YCbCr: DC first, then the low luma band, chroma
/// and the rest of luma at reduced precision, then the refinements.
const PROGRESSION: [Scan; 10] = [
    Scan {
        components: &[0, 1, 2],
        start: 0,
        end: 0,
        high: 0,
        low: 1,
    },
    Scan {
        components: &[0],
        start: 1,
        end: 5,
        high: 0,
        low: 2,
    },
    Scan {
        components: &[2],
        start: 1,
        end: 63,
        high: 0,
        low: 1,
    },
    Scan {
        components: &[1],
        start: 1,
        end: 63,
        high: 0,
        low: 1,
    },
    Scan {
        components: &[0],
        start: 6,
        end: 63,
        high: 0,
        low: 2,
    },
    Scan {
        components: &[0],
        start: 1,
        end: 63,
        high: 2,
        low: 1,
    },
    Scan {
        components: &[0, 1, 2],
        start: 0,
        end: 0,
        high: 1,
        low: 0,
    },
    Scan {
        components: &[2],
        start: 1,
        end: 63,
        high: 1,
        low: 0,
    },
    Scan {
        components: &[1],
        start: 1,
        end: 63,
        high: 1,
        low: 0,
    },
    Scan {
        components: &[0],
        start: 1,
        end: 63,
        high: 1,
        low: 0,
    },
];

/// The Huffman table (0 luma, 1 chroma) a component uses, for both DC and AC.
fn table_of(component: usize) -> usize {
    usize::from(component != 0)
}

/// Longest EOB run one symbol codes.
const MAX_EOB_RUN: u32 = 0x7FFF;
/// libjpeg flushes an EOB run once this many correction bits wait behind it.
const MAX_PENDING_CORRECTION_BITS: usize = 1000 - 64 + 1;

/// A scan's symbols in order, recorded once and written after the tables are built. Each
/// token is a Huffman symbol (with up to 16 extra bits) or up to 16 raw bits.
struct Tokens {
    tokens: Vec<u32>,
    /// Symbol counts per table.
    counts: [[u32; 256]; 2],
}

const RAW_FLAG: u32 = 1 << 15;

impl Default for Tokens {
    fn default() -> Tokens {
        Tokens {
            tokens: Vec::new(),
            counts: [[0; 256]; 2],
        }
    }
}

impl Tokens {
    fn clear(&mut self) {
        self.tokens.clear();
        self.counts = [[0; 256]; 2];
    }

    /// Huffman `symbol` of `table`, followed by the low `extra_bits` of `value`.
    fn symbol(&mut self, table: usize, symbol: u8, extra_bits: u32, value: u32) {
        self.counts[table][usize::from(symbol)] += 1;
        let value = value & ((1 << extra_bits) - 1);
        self.tokens
            .push(u32::from(symbol) | ((table as u32) << 8) | (extra_bits << 10) | (value << 16));
    }

    /// Bits written as they are (refinement bits), most significant first.
    fn raw_bits(&mut self, bits: BitRun) {
        let mut left = bits.count;
        while left > 0 {
            let length = left.min(16);
            left -= length;
            let value = ((bits.bits >> left) as u32) & ((1 << length) - 1);
            self.tokens.push(RAW_FLAG | (length << 10) | (value << 16));
        }
    }
}

/// Up to 64 raw bits, oldest in the most significant place.
#[derive(Default, Clone, Copy)]
struct BitRun {
    bits: u64,
    count: u32,
}

impl BitRun {
    fn push(&mut self, bit: u32) {
        self.bits = (self.bits << 1) | u64::from(bit);
        self.count += 1;
    }

    fn take(&mut self) -> BitRun {
        std::mem::take(self)
    }
}

/// Two masks over a block's 64 zigzag positions: bit k is set in the first when
/// `|block[k]| >> low` is non-zero, in the second when it is exactly one.
#[cfg(target_arch = "x86_64")]
fn band_masks(block: &[i16; 64], low: u32) -> (u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86_64; the loads read 4 x 32 bytes inside the 128-byte block.
    unsafe {
        let shift = _mm_cvtsi32_si128(low as i32);
        let zero = _mm_setzero_si128();
        let one = _mm_set1_epi16(1);
        let magnitude = |offset: usize| {
            let v = _mm_loadu_si128(block.as_ptr().add(offset).cast::<__m128i>());
            // Quantised coefficients stay far from i16::MIN, so the negation cannot overflow.
            _mm_srl_epi16(_mm_max_epi16(v, _mm_sub_epi16(zero, v)), shift)
        };
        let (mut nonzero, mut ones) = (0u64, 0u64);
        for chunk in 0..4 {
            let (a, b) = (magnitude(chunk * 16), magnitude(chunk * 16 + 8));
            let mask = |target: __m128i| {
                let bytes = _mm_packs_epi16(_mm_cmpeq_epi16(a, target), _mm_cmpeq_epi16(b, target));
                u64::from(_mm_movemask_epi8(bytes) as u16)
            };
            nonzero |= (!mask(zero) & 0xFFFF) << (chunk * 16);
            ones |= mask(one) << (chunk * 16);
        }
        (nonzero, ones)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn band_masks(block: &[i16; 64], low: u32) -> (u64, u64) {
    let (mut nonzero, mut ones) = (0u64, 0u64);
    for (k, &c) in block.iter().enumerate() {
        let magnitude = u32::from(c.unsigned_abs()) >> low;
        nonzero |= u64::from(magnitude != 0) << k;
        ones |= u64::from(magnitude == 1) << k;
    }
    (nonzero, ones)
}

/// Bits needed for `value` (0 for 0).
fn bit_length(value: u32) -> u32 {
    32 - value.leading_zeros()
}

/// An end-of-band run in progress across blocks, with the refinement bits that wait for it.
#[derive(Default)]
struct EobRun {
    blocks: u32,
    /// Each block's correction bits, in block order.
    correction_bits: Vec<BitRun>,
    correction_bit_count: usize,
}

impl EobRun {
    fn flush(&mut self, tokens: &mut Tokens, table: usize) {
        if self.blocks == 0 {
            return;
        }
        let extra = bit_length(self.blocks) - 1;
        tokens.symbol(table, (extra << 4) as u8, extra, self.blocks);
        self.blocks = 0;
        for bits in self.correction_bits.drain(..) {
            tokens.raw_bits(bits);
        }
        self.correction_bit_count = 0;
    }
}

impl Scan {
    fn tokenize(&self, components: &[Component; 3], grid: &McuGrid, tokens: &mut Tokens) {
        match (self.start, self.high) {
            (0, 0) => self.dc_first(components, grid, tokens),
            (0, _) => self.dc_refine(components, grid, tokens),
            (_, 0) => self.ac_first(&components[self.components[0]], tokens),
            _ => self.ac_refine(&components[self.components[0]], tokens),
        }
    }

    /// Blocks of an interleaved scan in MCU order, with the component index of each.
    fn for_each_mcu_block(
        &self,
        components: &[Component; 3],
        grid: &McuGrid,
        mut visit: impl FnMut(usize, &[i16; 64]),
    ) {
        for mcu_row in 0..grid.rows {
            for mcu_column in 0..grid.columns {
                for &index in self.components {
                    let component = &components[index];
                    let sampling = component.sampling;
                    for y in 0..sampling {
                        let row = (mcu_row * sampling + y) * component.stride;
                        for x in 0..sampling {
                            visit(index, &component.blocks[row + mcu_column * sampling + x]);
                        }
                    }
                }
            }
        }
    }

    fn dc_first(&self, components: &[Component; 3], grid: &McuGrid, tokens: &mut Tokens) {
        let mut previous = [0i32; 3];
        self.for_each_mcu_block(components, grid, |index, block| {
            let value = i32::from(block[0]) >> self.low;
            let difference = value - previous[index];
            previous[index] = value;
            let magnitude = difference.unsigned_abs();
            let size = bit_length(magnitude);
            let bits = if difference < 0 {
                (difference - 1) as u32
            } else {
                difference as u32
            };
            tokens.symbol(table_of(index), size as u8, size, bits);
        });
    }

    fn dc_refine(&self, components: &[Component; 3], grid: &McuGrid, tokens: &mut Tokens) {
        let mut bits = BitRun::default();
        self.for_each_mcu_block(components, grid, |_, block| {
            bits.push(((i32::from(block[0]) >> self.low) & 1) as u32);
            if bits.count == 64 {
                tokens.raw_bits(bits.take());
            }
        });
        tokens.raw_bits(bits);
    }

    /// Bits `start..=end`: the scan's spectral band.
    fn band(&self) -> u64 {
        (u64::MAX >> (63 - self.end)) & (u64::MAX << self.start)
    }

    fn ac_first(&self, component: &Component, tokens: &mut Tokens) {
        let table = table_of(self.components[0]);
        let band = self.band();
        let mut eob = EobRun::default();
        for block in component.own_blocks() {
            let (nonzero, _) = band_masks(block, self.low);
            let mut remaining = nonzero & band;
            // The first position of the band not coded yet.
            let mut next = self.start;
            while remaining != 0 {
                let k = remaining.trailing_zeros() as usize;
                remaining &= remaining - 1;
                let mut run = (k - next) as u32;
                next = k + 1;
                eob.flush(tokens, table);
                while run > 15 {
                    tokens.symbol(table, 0xF0, 0, 0);
                    run -= 16;
                }
                let coefficient = i32::from(block[k]);
                let magnitude = coefficient.unsigned_abs() >> self.low;
                let size = bit_length(magnitude);
                let bits = if coefficient < 0 {
                    !magnitude
                } else {
                    magnitude
                };
                tokens.symbol(table, ((run << 4) | size) as u8, size, bits);
            }
            if next <= self.end {
                eob.blocks += 1;
                if eob.blocks == MAX_EOB_RUN {
                    eob.flush(tokens, table);
                }
            }
        }
        eob.flush(tokens, table);
    }

    fn ac_refine(&self, component: &Component, tokens: &mut Tokens) {
        let table = table_of(self.components[0]);
        let band = self.band();
        let mut eob = EobRun::default();
        for block in component.own_blocks() {
            let (nonzero, ones) = band_masks(block, self.low);
            let (mut remaining, new) = (nonzero & band, ones & band);
            // The last coefficient that becomes non-zero in this scan: zero runs past it are
            // left to the end-of-band.
            let last_new = (new != 0).then(|| 63 - new.leading_zeros() as usize);
            let mut pending = BitRun::default();
            let mut run = 0u32;
            let mut next = self.start;
            while remaining != 0 {
                let k = remaining.trailing_zeros() as usize;
                remaining &= remaining - 1;
                run += (k - next) as u32;
                next = k + 1;
                while run > 15 && last_new.is_some_and(|last| k <= last) {
                    eob.flush(tokens, table);
                    tokens.symbol(table, 0xF0, 0, 0);
                    run -= 16;
                    tokens.raw_bits(pending.take());
                }
                if new & (1 << k) == 0 {
                    // Already non-zero: one correction bit.
                    let magnitude = u32::from(block[k].unsigned_abs()) >> self.low;
                    pending.push(magnitude & 1);
                    continue;
                }
                eob.flush(tokens, table);
                tokens.symbol(table, ((run << 4) | 1) as u8, 1, u32::from(block[k] >= 0));
                tokens.raw_bits(pending.take());
                run = 0;
            }
            run += (self.end + 1 - next) as u32;
            if run > 0 || pending.count > 0 {
                eob.blocks += 1;
                eob.correction_bit_count += pending.count as usize;
                eob.correction_bits.push(pending);
                if eob.blocks == MAX_EOB_RUN
                    || eob.correction_bit_count > MAX_PENDING_CORRECTION_BITS
                {
                    eob.flush(tokens, table);
                }
            }
        }
        eob.flush(tokens, table);
    }

    /// The scan's Huffman tables (DHT), its header (SOS) and its entropy-coded data.
    fn write(&self, out: &mut Vec<u8>, tokens: &Tokens) {
        let dc_first = self.start == 0 && self.high == 0;
        let mut codes: [Option<HuffmanCodes>; 2] = [None, None];
        for &index in self.components {
            let table = table_of(index);
            if (dc_first || self.end > 0) && codes[table].is_none() {
                let spec = optimal_table(&tokens.counts[table]);
                spec.write_dht(out, self.end > 0, table);
                codes[table] = Some(HuffmanCodes::from_spec(&spec));
            }
        }

        out.extend_from_slice(&[0xFF, 0xDA]);
        push_u16(out, 6 + 2 * self.components.len() as u16);
        out.push(self.components.len() as u8);
        for &index in self.components {
            let table = table_of(index) as u8;
            // Progressive scans name only the table class they use.
            let selectors = match (self.start, self.high) {
                (0, 0) => table << 4,
                (0, _) => 0,
                _ => table,
            };
            out.extend_from_slice(&[index as u8 + 1, selectors]);
        }
        out.extend_from_slice(&[
            self.start as u8,
            self.end as u8,
            ((self.high << 4) | self.low) as u8,
        ]);

        let mut writer = BitWriter {
            out,
            acc: 0,
            bits: 0,
        };
        for &token in &tokens.tokens {
            let extra_bits = (token >> 10) & 0x1F;
            let value = token >> 16;
            if token & RAW_FLAG != 0 {
                writer.put(value, extra_bits);
            } else {
                let table = ((token >> 8) & 1) as usize;
                // The table exists: every symbol of the scan was counted into it.
                let (code, length) = codes[table]
                    .as_ref()
                    .map_or((0, 0), |codes| codes.code(token as u8));
                writer.put((code << extra_bits) | value, length + extra_bits);
            }
        }
        writer.pad_to_byte();
    }
}

/// A Huffman table as JPEG stores it: code counts per length and symbols by length.
struct HuffmanSpec {
    counts: [u8; 16],
    symbols: Vec<u8>,
}

impl HuffmanSpec {
    fn write_dht(&self, out: &mut Vec<u8>, ac: bool, table: usize) {
        out.extend_from_slice(&[0xFF, 0xC4]);
        push_u16(out, 2 + 1 + 16 + self.symbols.len() as u16);
        out.push((u8::from(ac) << 4) | table as u8);
        out.extend_from_slice(&self.counts);
        out.extend_from_slice(&self.symbols);
    }
}

/// The optimal length-limited table for `counts` by the procedure of T.81 Annex K.2 (the one
/// libjpeg uses, ties included, so the tables equal libjpeg's): one pseudo-symbol is reserved
/// so that no code is all ones, and codes over 16 bits are folded back.
fn optimal_table(counts: &[u32; 256]) -> HuffmanSpec {
    let mut frequency = [0u64; 257];
    for (f, &count) in frequency.iter_mut().zip(counts) {
        *f = u64::from(count);
    }
    frequency[256] = 1;
    let mut code_size = [0u32; 257];
    let mut next_in_tree = [usize::MAX; 257];
    // libjpeg merges the two smallest frequencies, a tie going to the larger symbol: the
    // order (frequency, larger symbol first) is total, so a heap picks exactly its pairs.
    let mut queue: BinaryHeap<Reverse<(u64, Reverse<usize>)>> = (0..257)
        .filter(|&i| frequency[i] > 0)
        .map(|i| Reverse((frequency[i], Reverse(i))))
        .collect();
    while let Some(Reverse((_, Reverse(c1)))) = queue.pop() {
        let Some(Reverse((_, Reverse(c2)))) = queue.pop() else {
            break;
        };
        frequency[c1] += frequency[c2];
        frequency[c2] = 0;
        queue.push(Reverse((frequency[c1], Reverse(c1))));
        let mut node = c1;
        code_size[node] += 1;
        while next_in_tree[node] != usize::MAX {
            node = next_in_tree[node];
            code_size[node] += 1;
        }
        next_in_tree[node] = c2;
        let mut node = c2;
        code_size[node] += 1;
        while next_in_tree[node] != usize::MAX {
            node = next_in_tree[node];
            code_size[node] += 1;
        }
    }

    // A tree of 257 leaves is at most 256 deep. Skewed (Fibonacci-like) counts, which a large
    // enough crafted image can produce, make codes longer than 32 bits: libjpeg refuses those
    // (JERR_HUFF_CLEN_OVERFLOW); folding every length back by Annex K.3 instead keeps the
    // counts consistent, where clamping at 32 broke them and the fold below never ended.
    let mut bits = [0u32; 257];
    for &size in &code_size {
        if size > 0 {
            bits[size as usize] += 1;
        }
    }
    let longest = (0..bits.len()).rev().find(|&l| bits[l] > 0).unwrap_or(0);
    for length in (17..=longest).rev() {
        while bits[length] > 0 {
            let mut shorter = length - 2;
            while bits[shorter] == 0 {
                shorter -= 1;
            }
            bits[length] -= 2;
            bits[length - 1] += 1;
            bits[shorter + 1] += 2;
            bits[shorter] -= 1;
        }
    }
    // Drop the reserved pseudo-symbol: it holds one of the longest codes.
    if let Some(longest) = (1..=16).rev().find(|&length| bits[length] > 0) {
        bits[longest] -= 1;
    }
    let mut spec_counts = [0u8; 16];
    for (count, &b) in spec_counts.iter_mut().zip(&bits[1..=16]) {
        *count = b as u8;
    }
    // Symbols by code length, then by value (the order libjpeg lists them in).
    let mut symbols: Vec<u8> = (0..=255u8)
        .filter(|&symbol| code_size[usize::from(symbol)] > 0)
        .collect();
    symbols.sort_by_key(|&symbol| code_size[usize::from(symbol)]);
    HuffmanSpec {
        counts: spec_counts,
        symbols,
    }
}

/// Canonical codes (T.81 Annex C) for a table: (code, length) per symbol.
struct HuffmanCodes {
    codes: [(u32, u32); 256],
}

impl HuffmanCodes {
    fn from_spec(spec: &HuffmanSpec) -> HuffmanCodes {
        let mut codes = [(0, 0); 256];
        let mut code = 0u32;
        let mut symbols = spec.symbols.iter();
        for (length, &count) in (1..=16u32).zip(&spec.counts) {
            for symbol in symbols.by_ref().take(usize::from(count)) {
                codes[usize::from(*symbol)] = (code, length);
                code += 1;
            }
            code <<= 1;
        }
        HuffmanCodes { codes }
    }

    fn code(&self, symbol: u8) -> (u32, u32) {
        self.codes[usize::from(symbol)]
    }
}

/// Entropy-coded bytes, most significant bit first, with 0xFF stuffed by a zero byte.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter<'_> {
    /// Appends the low `length` (≤ 32) bits of `value`; whole 32-bit words are written at once.
    #[inline(always)]
    fn put(&mut self, value: u32, length: u32) {
        // At most 31 bits wait in `acc`, so 63 fit after the shift.
        self.acc = (self.acc << length) | u64::from(value);
        self.bits += length;
        if self.bits >= 32 {
            self.bits -= 32;
            let word = (self.acc >> self.bits) as u32;
            let has_ff_byte = (!word).wrapping_sub(0x0101_0101) & word & 0x8080_8080 != 0;
            if has_ff_byte {
                for byte in word.to_be_bytes() {
                    self.out.push(byte);
                    if byte == 0xFF {
                        self.out.push(0);
                    }
                }
            } else {
                self.out.extend_from_slice(&word.to_be_bytes());
            }
        }
    }

    /// Fills the last byte with one bits, as libjpeg ends a scan, and writes what waits.
    fn pad_to_byte(&mut self) {
        let padding = (8 - self.bits % 8) % 8;
        self.acc = (self.acc << padding) | ((1 << padding) - 1);
        self.bits += padding;
        while self.bits >= 8 {
            self.bits -= 8;
            let byte = (self.acc >> self.bits) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }
}

fn push_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// SOI, JFIF APP0, the ICC profile's APP2 chunks, DQT for both tables, SOF2.
fn write_headers(out: &mut Vec<u8>, image: &YccImage, quant: &[[u16; 64]; 2], icc: Option<&[u8]>) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    // JFIF 1.01, no units, 1:1 pixel aspect, no thumbnail.
    out.extend_from_slice(&[
        0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00,
    ]);
    for payload in icc.map(icc_marker_payloads).unwrap_or_default() {
        out.extend_from_slice(&[0xFF, 0xE2]);
        push_u16(out, 2 + payload.len() as u16);
        out.extend_from_slice(&payload);
    }
    for (index, table) in quant.iter().enumerate() {
        let wide = table.iter().any(|&q| q > 255);
        out.extend_from_slice(&[0xFF, 0xDB]);
        push_u16(out, if wide { 2 + 1 + 128 } else { 2 + 1 + 64 });
        out.push((u8::from(wide) << 4) | index as u8);
        for &natural in &NATURAL_ORDER {
            if wide {
                push_u16(out, table[natural]);
            } else {
                out.push(table[natural] as u8);
            }
        }
    }
    out.extend_from_slice(&[0xFF, 0xC2, 0x00, 0x11, 0x08]);
    push_u16(out, image.height as u16);
    push_u16(out, image.width as u16);
    out.extend_from_slice(&[0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
}

#[cfg(test)]
#[path = "planes_writer_tests.rs"]
mod tests;
