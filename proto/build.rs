//! Compiles the contract with protox (pure Rust, so no `protoc` is needed) and generates the
//! prost messages and tonic clients and servers. The encoded descriptor set is written next
//! to the generated code: reflection, the access check and the edge all read it at run time.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var("OUT_DIR")?);

    let mut files = Vec::new();
    collect_protos(&root, &root.join("mart"), &mut files)?;
    files.sort();

    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(&files)?;

    // The bytes as protox encodes them keep the custom options (`google.api.http`,
    // `mart.common.v1.access`), which a round trip through prost_types would drop.
    fs::write(out.join("mart_descriptor.bin"), compiler.encode_file_descriptor_set())?;

    // Well-known types are mapped to prost-types (an extern path), so prost generates
    // nothing for them; they stay in the set because it needs their shapes.
    let fds = compiler.file_descriptor_set();

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .include_file("mart_includes.rs")
        .compile_fds(fds)?;

    println!("cargo:rerun-if-changed=mart");
    println!("cargo:rerun-if-changed=google");
    Ok(())
}

/// Every `.proto` under `dir`, as paths relative to the include root.
fn collect_protos(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(root, &path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            let relative = path.strip_prefix(root).map_err(std::io::Error::other)?;
            files.push(relative.to_path_buf());
        }
    }
    Ok(())
}
