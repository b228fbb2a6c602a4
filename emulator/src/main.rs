fn main() {
    eprintln!("csmrun-emulator: not built yet");
    std::process::exit(1);
}
