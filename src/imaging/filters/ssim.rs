//! Test-only image similarity: grayscale SSIM as Thumbor's tests compute it (pyssim: PIL
//! luma, 11-tap Gaussian window with σ = 1.5, mirrored edges, K1 = 0.01, K2 = 0.03, mean of
//! the SSIM map).

/// A grayscale plane.
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f64>,
}

impl Gray {
    /// PIL's `convert('L')` of RGB pixels (`channels` 3, or 4 with alpha ignored).
    pub fn from_rgb(pixels: &[u8], width: usize, height: usize, channels: usize) -> Gray {
        let values = pixels
            .chunks_exact(channels)
            .map(|p| luma(f64::from(p[0]), f64::from(p[1]), f64::from(p[2])))
            .collect();
        Gray {
            width,
            height,
            values,
        }
    }

    /// RGBA pixels flattened on a mid grey first, so transparency counts.
    pub fn from_rgba_on_grey(pixels: &[u8], width: usize, height: usize) -> Gray {
        let values = pixels
            .chunks_exact(4)
            .map(|p| {
                let alpha = f64::from(p[3]) / 255.0;
                let flat = |c: u8| f64::from(c) * alpha + 128.0 * (1.0 - alpha);
                luma(flat(p[0]), flat(p[1]), flat(p[2]))
            })
            .collect();
        Gray {
            width,
            height,
            values,
        }
    }
}

fn luma(r: f64, g: f64, b: f64) -> f64 {
    ((r * 19595.0 + g * 38470.0 + b * 7471.0 + 32768.0) / 65536.0).floor()
}

fn gaussian_kernel() -> [f64; 11] {
    let mut kernel = [0.0; 11];
    for (i, k) in kernel.iter_mut().enumerate() {
        let d = i as f64 - 5.0;
        *k = (-(d * d) / (2.0 * 1.5 * 1.5)).exp();
    }
    let sum: f64 = kernel.iter().sum();
    kernel.map(|k| k / sum)
}

/// scipy.ndimage "reflect": d c b a | a b c d | d c b a.
fn reflect(index: isize, size: usize) -> usize {
    let n = size as isize;
    let mut i = index;
    loop {
        if i < 0 {
            i = -i - 1;
        } else if i >= n {
            i = 2 * n - i - 1;
        } else {
            return i as usize;
        }
    }
}

fn blur(values: &[f64], width: usize, height: usize) -> Vec<f64> {
    let kernel = gaussian_kernel();
    let mut rows = vec![0.0; values.len()];
    for y in 0..height {
        for x in 0..width {
            rows[y * width + x] = (0..11)
                .map(|k| {
                    kernel[k] * values[y * width + reflect(x as isize + k as isize - 5, width)]
                })
                .sum();
        }
    }
    let mut out = vec![0.0; values.len()];
    for y in 0..height {
        for x in 0..width {
            out[y * width + x] = (0..11)
                .map(|k| kernel[k] * rows[reflect(y as isize + k as isize - 5, height) * width + x])
                .sum();
        }
    }
    out
}

/// Mean SSIM of two planes of the same size.
pub fn ssim(a: &Gray, b: &Gray) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "SSIM of different sizes"
    );
    let (w, h) = (a.width, a.height);
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let squares = |v: &[f64]| v.iter().map(|x| x * x).collect::<Vec<_>>();
    let products: Vec<f64> = a.values.iter().zip(&b.values).map(|(x, y)| x * y).collect();
    let mu_a = blur(&a.values, w, h);
    let mu_b = blur(&b.values, w, h);
    let sq_a = blur(&squares(&a.values), w, h);
    let sq_b = blur(&squares(&b.values), w, h);
    let ab = blur(&products, w, h);
    let mut total = 0.0;
    for i in 0..w * h {
        let var_a = sq_a[i] - mu_a[i] * mu_a[i];
        let var_b = sq_b[i] - mu_b[i] * mu_b[i];
        let cov = ab[i] - mu_a[i] * mu_b[i];
        total += ((2.0 * mu_a[i] * mu_b[i] + c1) * (2.0 * cov + c2))
            / ((mu_a[i] * mu_a[i] + mu_b[i] * mu_b[i] + c1) * (var_a + var_b + c2));
    }
    total / (w * h) as f64
}

#[test]
fn ssim_of_identical_is_one_and_of_noise_is_low() {
    let values: Vec<f64> = (0..400).map(|i| f64::from((i * 37 % 256) as u8)).collect();
    let a = Gray {
        width: 20,
        height: 20,
        values: values.clone(),
    };
    let b = Gray {
        width: 20,
        height: 20,
        values,
    };
    assert!((ssim(&a, &b) - 1.0).abs() < 1e-12);
    let flat = Gray {
        width: 20,
        height: 20,
        values: vec![128.0; 400],
    };
    assert!(ssim(&a, &flat) < 0.5);
}
