# Colony's tasks. Each recipe is one plain command, so nothing needs `just`:
# copy the line into a shell.

# Run the quickstart scenario (the README's first command).
run scenario="scenarios/quickstart.toml":
    cargo run --release -p colony-sim --bin colony -- run {{scenario}}

# The test suite (the README's test command).
test:
    cargo test --workspace

# Criterion benches, full measurement.
bench:
    cargo bench -p colony-benches

# The engine scale benchmark (1M agents; threads may be a list: "1,2").
scale agents="1000000" threads="2" runs="3":
    cargo run --release -p colony-benches --bin scale -- --agents {{agents}} --threads {{threads}} --runs {{runs}}

# The fault and attack set at 10k agents, plus the 100k runs of lossy views
# with silent agents and of mass and steady failure (about twelve minutes,
# flood-attack and steady-failure-100k most of it): every expectation must hold.
faults:
    for s in partition-heal churn bursty-loss byzantine-third eclipse views-lossy-silent-100k mass-failure-100k steady-failure-100k flood-attack; do cargo run --release -p colony-sim --bin colony -- run scenarios/$s.toml --quiet --out target/runs/$s || exit 1; done

# A scenario under turmoil (up to 200 agents).
turmoil scenario="scenarios/agreement-50.toml":
    cargo run --release -p colony-sim --bin colony -- run {{scenario}} --engine turmoil

# N real agent processes on 127.0.0.1 running a scenario in real time.
cluster agents="20" scenario="scenarios/quickstart.toml":
    cargo run --release -p colony-sim --bin colony -- cluster --agents {{agents}} --scenario {{scenario}}

# Exactly what CI runs.
check:
    bash .ci/run

# Re-render plots and HTML of a run directory.
report dir:
    cargo run --release -p colony-sim --bin colony -- report {{dir}}

# Long fuzz run of one target, e.g. `just fuzz header_parse`.
fuzz target runs="10000000":
    cd fuzz && cargo fuzz run {{target}} --sanitizer none -- -runs={{runs}}
