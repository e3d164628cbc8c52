//! Compression levels measured (docs/benchmarks.md, "Compression"): CPU time per MiB of HTML and the
//! ratio at every level of gzip, brotli and zstd, one thread on one CPU, with lambda-fpm's own encoders.
//!
//! ```sh
//! cargo bench --bench compression                        # every level, the generated pages
//! cargo bench --bench compression -- --page a.html ...   # plus real pages (saved from a browser or curl)
//! cargo bench --bench compression -- --quick             # CI smoke: the default levels, one short round each
//! ```
//! Time is the thread's own CPU time (`/proc/thread-self/schedstat`), so other load on the machine
//! slows the run down but does not change the figures much. Each figure is the best of 3 rounds of at
//! least 0.25 s of compressing.

use std::time::Instant;

use lambda_fpm::compress::{compress, Encoder, Encoding};

const MIB: f64 = 1024.0 * 1024.0;

/// Prose for the generated pages: the repository's own documentation.
const PROSE: &[&str] = &[
    include_str!("../README.md"),
    include_str!("../docs/design.md"),
    include_str!("../docs/reliability.md"),
    include_str!("../docs/security.md"),
];

struct Page {
    name: String,
    html: Vec<u8>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut pages = vec![
        Page {
            name: "article (generated, blog theme)".into(),
            html: article(),
        },
        Page {
            name: "listing (generated, 1 MiB table)".into(),
            html: listing(1 << 20),
        },
    ];
    let mut files = args.iter().skip_while(|a| *a != "--page").skip(1);
    for path in files.by_ref().take_while(|a| !a.starts_with("--")) {
        match std::fs::read(path) {
            Ok(html) => pages.push(Page {
                name: path.clone(),
                html,
            }),
            Err(e) => {
                eprintln!("compression bench: cannot read {path}: {e}");
                std::process::exit(1);
            }
        }
    }
    let started = Instant::now();
    for page in &pages {
        report(page, quick);
    }
    println!(
        "\n{} in {:.1} s",
        mode(quick),
        started.elapsed().as_secs_f64()
    );
}

fn mode(quick: bool) -> &'static str {
    if quick {
        "quick run (default levels, one short round each)"
    } else {
        "full run"
    }
}

fn report(page: &Page, quick: bool) {
    println!(
        "\n### {} ({} bytes)\n\n| encoding | level | ratio | MiB/s (one CPU) | CPU ms per MiB | streamed, flush per 16 KiB |\n|---|--:|--:|--:|--:|--:|",
        page.name,
        page.html.len()
    );
    for encoding in Encoding::ALL {
        let levels: Vec<u32> = if quick {
            vec![encoding.default_level()]
        } else {
            encoding.levels().filter(|l| *l > 0).collect()
        };
        for level in levels {
            let (size, seconds) = measure(encoding, level, &page.html, quick);
            let mib = page.html.len() as f64 / MIB;
            let streamed = if level == encoding.default_level() {
                let flushed = streamed_size(encoding, level, &page.html);
                format!("{:+.1} %", (flushed as f64 / size as f64 - 1.0) * 100.0)
            } else {
                String::new()
            };
            println!(
                "| {} | {}{} | {:.2} | {:.0} | {:.1} | {} |",
                encoding.token(),
                level,
                if level == encoding.default_level() {
                    " (default)"
                } else {
                    ""
                },
                page.html.len() as f64 / size as f64,
                mib / seconds,
                seconds * 1000.0 / mib,
                streamed
            );
        }
    }
}

/// (compressed size, CPU seconds per compression): the best of 3 rounds of at least 0.25 s; one round of
/// 0.02 s when quick. The kernel updates a running thread's CPU time at each scheduler tick, so a round
/// must span many ticks.
fn measure(encoding: Encoding, level: u32, html: &[u8], quick: bool) -> (usize, f64) {
    let once = || match compress(encoding, level, html) {
        Ok(out) => out.len(),
        Err(e) => {
            eprintln!("compression bench: {encoding:?} {level}: {e}");
            std::process::exit(1);
        }
    };
    let size = once();
    let (rounds, round_seconds) = if quick { (1, 0.02) } else { (3, 0.25) };
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = cpu_seconds();
        let mut runs = 0u32;
        while runs == 0 || cpu_seconds() - start < round_seconds {
            once();
            runs += 1;
        }
        best = best.min((cpu_seconds() - start) / f64::from(runs));
    }
    (size, best)
}

/// The size of the same page sent by the streamed path when PHP flushes every 16 KiB.
fn streamed_size(encoding: Encoding, level: u32, html: &[u8]) -> usize {
    let run = || -> std::io::Result<usize> {
        let mut encoder = Encoder::new(encoding, level)?;
        let mut size = 0;
        for chunk in html.chunks(16 * 1024) {
            size += encoder.write(chunk)?.len();
            size += encoder.flush()?.len();
        }
        Ok(size + encoder.finish()?.len())
    };
    run().unwrap_or(0)
}

/// This thread's time on a CPU, from the kernel's scheduler statistics (nanoseconds).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// A deterministic stream of numbers (xorshift64), so every run compresses the same pages.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

fn words() -> Vec<&'static str> {
    PROSE
        .iter()
        .flat_map(|text| text.split_whitespace())
        .filter(|w| w.chars().all(|c| c.is_alphanumeric()) && w.len() > 2)
        .collect()
}

/// A blog post as a CMS theme renders it: head with meta tags and inline CSS, a navigation menu, the
/// documentation as the article, a sidebar, comments, a footer and inline JSON.
fn article() -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let words = words();
    let mut html = String::from("<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<meta charset=\"UTF-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Running PHP on Lambda &#8211; lambda-fpm blog</title>\n");
    for i in 0..24 {
        html += &format!("<link rel=\"stylesheet\" id=\"wp-block-{i}-css\" href=\"https://example.com/wp-includes/css/dist/block-{i}/style.min.css?ver=6.4.{}\" media=\"all\">\n", rng.next(9));
    }
    html += "<style id=\"theme-inline-css\">\n";
    for i in 0..160 {
        html += &format!(
            ".wp-block-{}-{i} {{ margin: {}px 0 {}px; color: #{:06x}; font-size: {}rem; }}\n",
            words[rng.next(words.len())].to_lowercase(),
            rng.next(40),
            rng.next(40),
            rng.next(0xffffff),
            rng.next(4) + 1
        );
    }
    html += "</style>\n</head>\n<body class=\"post-template-default single single-post postid-1234 wp-embed-responsive\">\n<header class=\"site-header\"><nav class=\"main-navigation\" aria-label=\"Primary\"><ul id=\"primary-menu\" class=\"menu\">\n";
    for i in 0..40 {
        let w = words[rng.next(words.len())];
        html += &format!("<li id=\"menu-item-{i}\" class=\"menu-item menu-item-type-post_type menu-item-object-page menu-item-{i}\"><a href=\"https://example.com/{}/\">{w}</a></li>\n", w.to_lowercase());
    }
    html += "</ul></nav></header>\n<main id=\"main\" class=\"site-main\"><article id=\"post-1234\" class=\"post-1234 post type-post status-publish format-standard hentry category-php\">\n<div class=\"entry-content\">\n";
    for text in PROSE {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let escaped = line
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            html += &match line.chars().next() {
                Some('#') => format!(
                    "<h2 class=\"wp-block-heading\">{}</h2>\n",
                    escaped.trim_start_matches('#').trim()
                ),
                Some('|') => {
                    format!("<p class=\"has-small-font-size\"><code>{escaped}</code></p>\n")
                }
                _ => format!("<p>{escaped}</p>\n"),
            };
        }
    }
    html += "</div></article>\n<aside class=\"widget-area\"><h2>Recent posts</h2><ul>\n";
    for i in 0..30 {
        let title: Vec<&str> = (0..6).map(|_| words[rng.next(words.len())]).collect();
        html += &format!("<li><a href=\"https://example.com/2026/{:02}/{}/\">{}</a><span class=\"post-date\">2026-{:02}-{:02}</span></li>\n", i % 12 + 1, title.join("-").to_lowercase(), title.join(" "), rng.next(12) + 1, rng.next(28) + 1);
    }
    html += "</ul></aside>\n<section id=\"comments\" class=\"comments-area\"><ol class=\"comment-list\">\n";
    for i in 0..25 {
        let text: Vec<&str> = (0..30 + rng.next(40))
            .map(|_| words[rng.next(words.len())])
            .collect();
        html += &format!("<li id=\"comment-{i}\" class=\"comment even thread-even depth-1\"><article class=\"comment-body\"><footer class=\"comment-meta\"><div class=\"comment-author vcard\"><img alt=\"\" src=\"https://secure.gravatar.com/avatar/{:016x}?s=64&amp;d=mm&amp;r=g\" class=\"avatar avatar-64 photo\" height=\"64\" width=\"64\" loading=\"lazy\"><b class=\"fn\">{}</b></div></footer><div class=\"comment-content\"><p>{}</p></div></article></li>\n", rng.next(usize::MAX), words[rng.next(words.len())], text.join(" "));
    }
    html += "</ol></section></main>\n<footer class=\"site-footer\"><p>Proudly powered by PHP on Lambda.</p></footer>\n<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@graph\":[";
    for i in 0..20 {
        html += &format!("{{\"@type\":\"WebPage\",\"@id\":\"https://example.com/page-{i}/\",\"name\":\"{}\",\"datePublished\":\"2026-01-{:02}T10:00:00+00:00\"}},", words[rng.next(words.len())], rng.next(28) + 1);
    }
    html += "{}]}</script>\n</body>\n</html>\n";
    html.into_bytes()
}

/// A data page of `size` bytes: a product table, one row per item, with links, prices and dates.
fn listing(size: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let words = words();
    let mut html = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Products</title></head>\n<body><table class=\"table table-striped products\">\n<thead><tr><th>SKU</th><th>Product</th><th>Category</th><th>Price</th><th>Stock</th><th>Updated</th></tr></thead>\n<tbody>\n");
    let mut id = 0;
    while html.len() < size {
        id += 1;
        let name: Vec<&str> = (0..3 + rng.next(4))
            .map(|_| words[rng.next(words.len())])
            .collect();
        html += &format!("<tr class=\"product-row{}\" data-id=\"{id}\"><td class=\"sku\">SKU-{:06}</td><td><a href=\"/products/{id}-{}?ref=list&amp;page={}\">{}</a></td><td>{}</td><td class=\"price\">${}.{:02}</td><td class=\"stock\">{}</td><td><time datetime=\"2026-{:02}-{:02}\">{}</time></td></tr>\n",
            if id % 2 == 0 { " even" } else { "" }, rng.next(1_000_000), name.join("-").to_lowercase(), id / 50 + 1, name.join(" "), words[rng.next(words.len())], rng.next(500), rng.next(100), rng.next(1000), rng.next(12) + 1, rng.next(28) + 1, rng.next(365) + 1);
    }
    html += "</tbody></table></body></html>\n";
    html.into_bytes()
}
