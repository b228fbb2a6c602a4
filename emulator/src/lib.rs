//! csmrun-emulator: an offline fake of the Google Cloud APIs csmrun uses.
