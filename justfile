# Colony's tasks. Each recipe is one plain command, so nothing needs `just`:
# copy the line into a shell.

# Show the command (scenario runs land with the scenario issue).
run:
    cargo run --release -p colony-sim --bin colony -- --help

# The test suite (the README's test command).
test:
    cargo test --workspace

# Criterion benches, full measurement.
bench:
    cargo bench -p colony-benches

# Exactly what CI runs.
check:
    bash .ci/run

# Long fuzz run of one target, e.g. `just fuzz header_parse`.
fuzz target runs="10000000":
    cd fuzz && cargo fuzz run {{target}} --sanitizer none -- -runs={{runs}}
