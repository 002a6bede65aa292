//! Writes the demo warehouse and reports generation time, write time and size:
//! `cargo run -p quarry-demo --release --example write_demo -- <empty dir> [seed] [scale]`.

use std::time::Instant;

use quarry_demo::{DemoConfig, generate, write_demo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: write_demo <empty dir> [seed] [scale]")?;
    let seed = args.next().map(|s| s.parse::<u64>()).transpose()?.unwrap_or(42);
    let scale = args.next().map(|s| s.parse::<u32>()).transpose()?.unwrap_or(1);
    let config = DemoConfig { seed, scale };

    let started = Instant::now();
    let tables = generate(&config)?;
    let generation = started.elapsed();
    drop(tables);

    let started = Instant::now();
    let manifest = write_demo(std::path::Path::new(&dir), &config)?;
    let total = started.elapsed();

    println!("snapshot {} (seed {seed}, scale {scale})", manifest.id);
    for table in &manifest.tables {
        println!("{:>24} {:>10} rows {:>12} bytes", table.name, table.rows, table.bytes);
    }
    println!("{:>24} {:>10} rows {:>12} bytes", "total", manifest.total_rows(), manifest.total_bytes());
    println!("generation {:.2} s; generation + Parquet writing {:.2} s", generation.as_secs_f64(), total.as_secs_f64());
    Ok(())
}
