use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dojo_sim::cli::run(dojo_sim::cli::Args::parse()).await
}
