//! Acceptance-test harness: real terraform, the provider and csmrun-emulator.
