//! The demo products' pictures, drawn when `mart demo-data` runs: a soft background in the
//! product's colour, a shape in that colour (one shape per category) and a band in the
//! category's colour, encoded as a small PNG. Drawn rather than bundled, so the repository
//! holds no image files and the demo needs no network; the same product always gets the
//! same bytes, so uploading it again gives the same media id.
//!
//! The PNG encoder is the least that makes a valid file: one IDAT whose zlib stream is a
//! single fixed-Huffman deflate block that only repeats the previous pixel. Flat shapes on
//! flat rows are long runs, so a 256×256 picture comes to a few kilobytes without a
//! compression crate.

/// Width and height of every picture, in pixels.
pub const SIZE: u32 = 256;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// The figure in the middle of a picture; each demo category has its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Ring,
    RoundedSquare,
    Diamond,
    Pill,
    /// A rounded square with a ribbon across it, in the band's colour.
    Parcel,
}

/// What one picture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Picture {
    pub shape: Shape,
    /// The shape's colour; the background is a pale tint of it.
    pub colour: Rgb,
    /// The band along the bottom (and a parcel's ribbon).
    pub band: Rgb,
}

/// Where the band along the bottom starts.
const BAND_TOP: f32 = 216.0;

/// The centre of the shape, above the band.
const CENTRE: (f32, f32) = (128.0, 110.0);

impl Picture {
    /// The picture as a PNG file.
    pub fn png(&self) -> Vec<u8> {
        let pixels: Vec<Rgb> = (0..SIZE * SIZE).map(|i| self.pixel(i % SIZE, i / SIZE)).collect();
        png(SIZE, SIZE, &pixels)
    }

    /// The colour at column `x`, row `y`.
    fn pixel(&self, x: u32, y: u32) -> Rgb {
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        if py >= BAND_TOP {
            return self.band;
        }
        // Pale at the top, a shade deeper towards the band: one colour per row, which the
        // encoder's runs keep small.
        let background = mix(self.colour, [255, 255, 255], 0.86 - 0.08 * py / BAND_TOP);
        let (dx, dy) = (px - CENTRE.0, py - CENTRE.1);
        let distance = match self.shape {
            Shape::Circle => dx.hypot(dy) - 72.0,
            Shape::Ring => (dx.hypot(dy) - 58.0).abs() - 20.0,
            Shape::RoundedSquare | Shape::Parcel => rounded_square(dx, dy, 66.0, 18.0),
            Shape::Diamond => (dx.abs() + dy.abs()) * std::f32::consts::FRAC_1_SQRT_2 - 62.0,
            Shape::Pill => (dx.abs() - 40.0).max(0.0).hypot(dy) - 44.0,
        };
        let mut colour = self.colour;
        if self.shape == Shape::Parcel {
            let ribbon = dx.abs().min(dy.abs()) - 9.0;
            colour = mix(colour, self.band, coverage(ribbon));
        }
        mix(background, colour, coverage(distance))
    }
}

/// How much of a pixel whose centre is `distance` outside a shape's edge the shape covers:
/// a one-pixel ramp, so edges are smooth.
fn coverage(distance: f32) -> f32 {
    (0.5 - distance).clamp(0.0, 1.0)
}

/// Signed distance from (dx, dy) to a square of half-side `half` with corners of `radius`.
fn rounded_square(dx: f32, dy: f32, half: f32, radius: f32) -> f32 {
    let (qx, qy) = (dx.abs() - (half - radius), dy.abs() - (half - radius));
    qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0) - radius
}

/// `a` with `share` of `b` mixed in.
fn mix(a: Rgb, b: Rgb, share: f32) -> Rgb {
    // Rounded and clamped into 0..=255 first, so the cast cannot wrap.
    std::array::from_fn(|i| {
        (f32::from(a[i]) + (f32::from(b[i]) - f32::from(a[i])) * share).round().clamp(0.0, 255.0) as u8
    })
}

/// The colour of hue `degrees` at a saturation and lightness that read well on white.
pub fn hue(degrees: u32) -> Rgb {
    let (saturation, lightness) = (0.55_f32, 0.52_f32);
    let h = (degrees % 360) as f32 / 60.0;
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let x = chroma * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    [r, g, b].map(|c| ((c + m) * 255.0).round().clamp(0.0, 255.0) as u8)
}

// === PNG ===

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// `pixels`, `width` to a row, as an 8-bit RGB PNG.
fn png(width: u32, height: u32, pixels: &[Rgb]) -> Vec<u8> {
    // Each row is its filter type (0: none) and its pixels.
    let mut raw = Vec::with_capacity(pixels.len() * 3 + height as usize);
    for row in pixels.chunks(width as usize) {
        raw.push(0);
        raw.extend(row.iter().flatten());
    }
    let mut header = Vec::with_capacity(13);
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    header.extend([8, 2, 0, 0, 0]);
    let mut file = SIGNATURE.to_vec();
    chunk(&mut file, b"IHDR", &header);
    chunk(&mut file, b"IDAT", &zlib(&raw));
    chunk(&mut file, b"IEND", &[]);
    file
}

/// Appends a chunk: length, type, data, and the CRC of type and data.
fn chunk(file: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("a picture's chunk is far below 4 GiB");
    file.extend(length.to_be_bytes());
    let start = file.len();
    file.extend(kind);
    file.extend(data);
    let crc = crc32(&file[start..]);
    file.extend(crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, as PNG uses it), bit by bit: a few kilobytes per picture.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Adler-32, the zlib stream's checksum of the uncompressed bytes.
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1_u32, 0_u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Bytes per pixel: a match at this distance repeats the previous pixel.
const PIXEL: usize = 3;

/// Length symbols 257.. start at these match lengths (RFC 1951, 3.2.5)…
const LENGTH_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
/// …and take this many extra bits.
const LENGTH_EXTRA: [u32; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

/// `data` as a zlib stream: one final fixed-Huffman block of literals and matches at
/// distance [`PIXEL`].
fn zlib(data: &[u8]) -> Vec<u8> {
    // CMF/FLG: deflate with a 32 KiB window, no dictionary, check bits making it % 31 == 0.
    let mut out = Bits { bytes: vec![0x78, 0x01], pending: 0, count: 0 };
    out.put(1, 1); // BFINAL
    out.put(1, 2); // BTYPE 01: fixed Huffman codes
    let mut at = 0;
    while at < data.len() {
        let longest = (data.len() - at).min(258);
        let run =
            if at >= PIXEL { (0..longest).take_while(|&k| data[at + k] == data[at + k - PIXEL]).count() } else { 0 };
        if run >= 3 {
            let index = LENGTH_BASE.iter().rposition(|&base| usize::from(base) <= run).expect("runs are at least 3");
            out.symbol(257 + index as u16);
            out.put((run - usize::from(LENGTH_BASE[index])) as u32, LENGTH_EXTRA[index]);
            // Distance code PIXEL - 1 (distances 1..=4 have no extra bits), 5 bits.
            out.code(PIXEL as u32 - 1, 5);
            at += run;
        } else {
            out.symbol(u16::from(data[at]));
            at += 1;
        }
    }
    out.symbol(256); // end of block
    let mut bytes = out.finish();
    bytes.extend(adler32(data).to_be_bytes());
    bytes
}

/// A deflate bit stream: values least significant bit first, Huffman codes most
/// significant bit first (RFC 1951, 3.1.1).
struct Bits {
    bytes: Vec<u8>,
    /// Bits not yet making a whole byte, the oldest lowest.
    pending: u32,
    count: u32,
}

impl Bits {
    fn put(&mut self, value: u32, width: u32) {
        self.pending |= value << self.count;
        self.count += width;
        while self.count >= 8 {
            self.bytes.push(self.pending as u8);
            self.pending >>= 8;
            self.count -= 8;
        }
    }

    fn code(&mut self, code: u32, width: u32) {
        for bit in (0..width).rev() {
            self.put((code >> bit) & 1, 1);
        }
    }

    /// A literal/length symbol in the fixed code.
    fn symbol(&mut self, symbol: u16) {
        let symbol = u32::from(symbol);
        match symbol {
            0..=143 => self.code(0x30 + symbol, 8),
            144..=255 => self.code(0x190 + symbol - 144, 9),
            256..=279 => self.code(symbol - 256, 7),
            _ => self.code(0xc0 + symbol - 280, 8),
        }
    }

    /// The bytes, the last one padded with zero bits.
    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.bytes.push(self.pending as u8);
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPES: [Shape; 6] =
        [Shape::Circle, Shape::Ring, Shape::RoundedSquare, Shape::Diamond, Shape::Pill, Shape::Parcel];

    #[test]
    fn every_picture_decodes_to_what_was_drawn_and_stays_small() {
        for (i, shape) in SHAPES.into_iter().enumerate() {
            let picture = Picture { shape, colour: hue(i as u32 * 61), band: [40, 60, 90] };
            let file = picture.png();
            assert!(file.len() < 12_000, "{shape:?}: {} bytes", file.len());
            let drawn: Vec<u8> = (0..SIZE * SIZE).flat_map(|i| picture.pixel(i % SIZE, i / SIZE)).collect();
            assert_eq!(decode(&file), (SIZE, SIZE, drawn), "{shape:?}");
        }
    }

    #[test]
    fn the_same_picture_is_the_same_bytes_and_another_is_not() {
        let picture = Picture { shape: Shape::Circle, colour: hue(200), band: [0, 0, 0] };
        assert_eq!(picture.png(), picture.png());
        assert_ne!(picture.png(), Picture { colour: hue(201), ..picture }.png());
    }

    #[test]
    fn checksums_match_their_definitions() {
        // Check values from the PNG and zlib specifications' usual test vector.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn hues_go_round_the_colour_wheel() {
        let [r, g, b] = hue(0);
        assert!(r > g && g == b, "red");
        let [r, g, b] = hue(120);
        assert!(g > r && r == b, "green");
        let [r, g, b] = hue(240);
        assert!(b > r && r == g, "blue");
        assert_eq!(hue(360), hue(0));
    }

    /// Width, height and the RGB bytes of a PNG as this encoder writes it (one IDAT, filter
    /// 0, fixed Huffman), every checksum checked: an independent reading of the format.
    fn decode(file: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(file[..8], SIGNATURE);
        let mut chunks = Vec::new();
        let mut at = 8;
        while at < file.len() {
            let length = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
            let (kind, data) = (&file[at + 4..at + 8], &file[at + 8..at + 8 + length]);
            let crc = u32::from_be_bytes(file[at + 8 + length..at + 12 + length].try_into().unwrap());
            assert_eq!(crc, crc32(&file[at + 4..at + 8 + length]), "CRC of {}", String::from_utf8_lossy(kind));
            chunks.push((kind.to_vec(), data.to_vec()));
            at += 12 + length;
        }
        let kinds: Vec<&[u8]> = chunks.iter().map(|(kind, _)| kind.as_slice()).collect();
        assert_eq!(kinds, [&b"IHDR"[..], b"IDAT", b"IEND"]);
        let header = &chunks[0].1;
        let width = u32::from_be_bytes(header[0..4].try_into().unwrap());
        let height = u32::from_be_bytes(header[4..8].try_into().unwrap());
        assert_eq!(header[8..], [8, 2, 0, 0, 0]);
        let raw = inflate(&chunks[1].1);
        let stride = width as usize * 3 + 1;
        assert_eq!(raw.len(), stride * height as usize);
        let mut pixels = Vec::new();
        for row in raw.chunks(stride) {
            assert_eq!(row[0], 0, "filter type none");
            pixels.extend(&row[1..]);
        }
        (width, height, pixels)
    }

    /// A zlib stream of fixed-Huffman deflate blocks, its Adler-32 checked.
    fn inflate(stream: &[u8]) -> Vec<u8> {
        assert_eq!(((u16::from(stream[0]) << 8) | u16::from(stream[1])) % 31, 0, "zlib header check");
        assert_eq!(stream[0] & 0x0f, 8, "deflate");
        let mut bits = Reader { bytes: &stream[2..], at: 0 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            let last = bits.value(1) == 1;
            assert_eq!(bits.value(2), 1, "a fixed-Huffman block");
            loop {
                let symbol = bits.symbol();
                match symbol {
                    0..=255 => out.push(symbol as u8),
                    256 => break,
                    _ => {
                        let index = symbol as usize - 257;
                        let length = usize::from(LENGTH_BASE[index]) + bits.value(LENGTH_EXTRA[index]) as usize;
                        let code = bits.code(5);
                        assert!(code < 4, "only distances 1..=4 are expected, got code {code}");
                        let distance = code as usize + 1;
                        for _ in 0..length {
                            out.push(out[out.len() - distance]);
                        }
                    }
                }
            }
            if last {
                break;
            }
        }
        let end = bits.at.div_ceil(8) + 2;
        assert_eq!(stream[end..], adler32(&out).to_be_bytes());
        out
    }

    struct Reader<'a> {
        bytes: &'a [u8],
        /// The next bit's position.
        at: usize,
    }

    impl Reader<'_> {
        fn bit(&mut self) -> u32 {
            let bit = (self.bytes[self.at / 8] >> (self.at % 8)) & 1;
            self.at += 1;
            u32::from(bit)
        }

        /// A value of `width` bits, least significant first.
        fn value(&mut self, width: u32) -> u32 {
            (0..width).fold(0, |value, i| value | (self.bit() << i))
        }

        /// A Huffman code of `width` bits, most significant first.
        fn code(&mut self, width: u32) -> u32 {
            (0..width).fold(0, |code, _| (code << 1) | self.bit())
        }

        /// A literal/length symbol of the fixed code: 7, 8 or 9 bits long.
        fn symbol(&mut self) -> u32 {
            let mut code = self.code(7);
            if code <= 0b001_0111 {
                return 256 + code;
            }
            code = (code << 1) | self.bit();
            match code {
                0x30..=0xbf => code - 0x30,
                0xc0..=0xc7 => 280 + code - 0xc0,
                _ => 144 + ((code << 1) | self.bit()) - 0x190,
            }
        }
    }
}
