//! Headless Chromium: a page's DOM as the browser built it, and screenshots decoded with the `png` crate
//! to tell a rendered page from a blank one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

fn chromium_bin() -> &'static str {
    if Path::new("/usr/bin/chromium").exists() {
        "/usr/bin/chromium"
    } else {
        "chromium"
    }
}

/// Runs headless Chromium once (bounded to 90 s); returns stdout.
pub async fn chromium(extra: &[String], url: &str) -> Vec<u8> {
    let profile = tempfile::Builder::new()
        .prefix("lfpm-chromium-")
        .tempdir()
        .expect("profile dir");
    let mut cmd = tokio::process::Command::new("timeout");
    cmd.arg("90")
        .arg(chromium_bin())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            // Nothing but 127.0.0.1 resolves: the pages must be complete without the internet.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .env("HOME", profile.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = cmd
        .output()
        .await
        .unwrap_or_else(|e| panic!("run chromium (apt-get install chromium): {e}"));
    assert!(
        out.status.success(),
        "chromium {extra:?} {url} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A decoded screenshot.
pub struct Image {
    pub width: usize,
    pub height: usize,
    /// RGB triples (alpha dropped).
    pub pixels: Vec<[u8; 3]>,
}

/// Decodes a PNG into 8-bit RGB pixels, whatever its colour type, bit depth or interlacing.
pub fn decode_png(data: &[u8]) -> Image {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(data));
    // Palette and grey images become RGB(A), 16-bit channels 8-bit: one pixel layout to look at.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).expect("PNG image data");
    let bytes = &buf[..frame.buffer_size()];
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Indexed => panic!("a palette PNG after normalize_to_color8"),
    };
    let pixels = bytes
        .chunks_exact(channels)
        .map(|px| match channels {
            1 | 2 => [px[0]; 3],
            _ => [px[0], px[1], px[2]],
        })
        .collect();
    Image {
        width: frame.width as usize,
        height: frame.height as usize,
        pixels,
    }
}

impl Image {
    pub fn distinct_colours(&self) -> usize {
        let mut set: Vec<u32> = self
            .pixels
            .iter()
            .map(|p| (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32)
            .collect();
        set.sort_unstable();
        set.dedup();
        set.len()
    }

    /// Share of the most common colour (1.0 = blank).
    pub fn dominant_share(&self) -> f64 {
        let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
        for p in &self.pixels {
            *counts.entry(*p).or_default() += 1;
        }
        counts.values().copied().max().unwrap_or(0) as f64 / self.pixels.len().max(1) as f64
    }

    /// Share of clearly coloured (not grey) pixels.
    pub fn chromatic_share(&self) -> f64 {
        let n = self
            .pixels
            .iter()
            .filter(|p| {
                let (mx, mn) = (
                    p.iter().max().copied().unwrap_or(0),
                    p.iter().min().copied().unwrap_or(0),
                );
                mx - mn > 40
            })
            .count();
        n as f64 / self.pixels.len().max(1) as f64
    }
}
