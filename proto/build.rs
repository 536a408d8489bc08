//! Generates the scope.v1 types with protox (pure Rust; no protoc needed on the machine).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "scope/v1/report.proto",
        "scope/v1/probe.proto",
        "scope/v1/bus.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    tonic_prost_build::configure()
        // Transport helpers (`connect()`) would tie this crate to tonic's channel feature; the
        // probe builds its own Channel.
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
