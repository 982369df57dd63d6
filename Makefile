# featdiv: every target does its own set-up (idempotent, fast when already done).
CARGO ?= cargo
THREADS ?= 2
# The net whose training step make bench times (ConstNet, the paper's skeleton): WRN-16-2 by default.
BENCH_DEPTH ?= 16
BENCH_WIDEN ?= 2

help:                       ## this list of targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 24

.PHONY: calibrate results help setup setup-cuda data test-tools build test proptest-deep mutants fuzz reproduce budget report register bench claims gpu-bundle lint fmt clean

# Property tests draw their cases from one seed a run, printed first, so a red run replays:
# `make test PROPTEST_RNG_SEED=N` (or the same variable for a single `cargo test`).
ifndef PROPTEST_RNG_SEED
PROPTEST_RNG_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
export PROPTEST_RNG_SEED

setup:                      ## libtorch (CPU) from PyPI's torch==2.11.0 wheel into .venv, linked as .libtorch
	@ci/setup-libtorch

setup-cuda:                 ## the full torch wheel with its CUDA libraries (GPU machines, and bench's PyTorch side)
	@ci/setup-libtorch --cuda

data:                       ## Fashion-MNIST from Debian's dataset-fashion-mnist package into data/
	@ci/setup-data

test-tools:                 ## Chromium and a one-node Slurm (Debian packages) for the report and sweep tests
	@ci/setup-test-tools

build: setup
	$(CARGO) build --release

test: setup test-tools      ## the default claims checker: unit tests + claims at small scale (test binaries 5.4-9.2 min on 2 cores without AMX, docs/testing.md)
	@echo "proptest seed: PROPTEST_RNG_SEED=$(PROPTEST_RNG_SEED) (make test PROPTEST_RNG_SEED=$(PROPTEST_RNG_SEED) replays these cases)"
	@rm -f target/skipped-tests.txt
	$(CARGO) test --release
	@ci/skipped-tests


fuzz: setup                 ## the loaders fuzzed for 10 minutes (mutated IDX, CIFAR-10, npz, safetensors, TOML)
	FEATDIV_FUZZ_SECONDS=600 $(CARGO) test --release --test it fuzz_loaders:: -- --nocapture

MUTANTS_SHARDS ?= 2
mutants: setup              ## cargo-mutants over src/claims and src/metrics at HEAD, 2 shards at once: target/mutants-run/score.txt
	@command -v cargo-mutants >/dev/null || $(CARGO) install cargo-mutants --locked --version 27.1.0
	MUTANTS_SHARDS=$(MUTANTS_SHARDS) ci/mutants

proptest-deep: setup test-tools  ## the default suite with every property at 20x its cases (71 min on 2 cores, measured)
	@echo "proptest seed: PROPTEST_RNG_SEED=$(PROPTEST_RNG_SEED), FEATDIV_PROPTEST_SCALE=20"
	FEATDIV_PROPTEST_SCALE=20 bash -o pipefail -c '$(CARGO) test --release --no-fail-fast -- --nocapture 2>&1 | tee target/proptest-deep.log'

claims: setup data          ## heavier claims: the standard profile and its verdicts snapshot (runs/standard, about 45 min), property 3
	$(CARGO) test --release --features full-claims

JOBS ?= 2
PROFILE ?= quick
# PRECISION=fp32 trains every run in fp32 (faster than bf16 on a CPU without AMX): runs/PROFILE-fp32.
PRECISION ?=
PRECISION_ARGS = $(if $(PRECISION),--precision $(PRECISION))
PRECISION_SUFFIX = $(if $(PRECISION),-$(PRECISION))
# SEED_OFFSET=1000 shifts every seed by 1000 (fresh seeds: a confirmatory run, README): runs/PROFILE-s1000.
SEED_OFFSET ?=
SEED_SET = $(filter-out 0,$(SEED_OFFSET))
SEED_ARGS = $(if $(SEED_SET),--seed-offset $(SEED_SET))
SEED_SUFFIX = $(if $(SEED_SET),-s$(SEED_SET))
reproduce: build data       ## every experiment (E1-E6) at PROFILE (smoke quick standard full paper), PRECISION, SEED_OFFSET: runs/PROFILE, report/
	./target/release/featdiv reproduce --profile $(PROFILE) $(PRECISION_ARGS) $(SEED_ARGS) --jobs $(JOBS) --out runs/$(PROFILE)$(PRECISION_SUFFIX)$(SEED_SUFFIX) --report report

# The budget check: experiments ONLY of BUDGET_PROFILE with every run trained BUDGET times as long.
# The default: E2 at 3x the standard budget, a longer high-rate stretch for K9 (docs/results.md).
ONLY ?= e2-constnet
BUDGET ?= 3
BUDGET_PROFILE ?= standard
budget: build data          ## ONLY at BUDGET x BUDGET_PROFILE's budget (default E2 at 3x standard): runs/BUDGET_PROFILE-xBUDGET, report-xBUDGET/
	./target/release/featdiv reproduce --profile $(BUDGET_PROFILE) --only $(ONLY) --budget $(BUDGET) $(PRECISION_ARGS) $(SEED_ARGS) --jobs $(JOBS) --report report-x$(BUDGET)

report: build               ## the report again from runs/$(PROFILE) (e.g. after merging sweep shards)
	./target/release/featdiv report --runs runs/$(PROFILE)$(PRECISION_SUFFIX)$(SEED_SUFFIX) --out report

results: build              ## the README's results table again, from the confirmatory claims.json files under docs/confirmatory/
	./target/release/featdiv table --into README.md $(sort $(wildcard docs/confirmatory/*/claims.json))

register: build             ## freeze the experiment files for confirmatory runs: configs/registration.toml (deliberately, before the runs)
	./target/release/featdiv register

bench: setup-cuda build data  ## featdiv vs PyTorch eager, interleaved: MLP epoch, WRN step fp32 and bf16 + channels_last, GEMM peak
	@rm -f target/bench.log
	@for round in 1 2 3 4; do \
	  for p in fp32 bf16; do ./target/release/featdiv bench --model gemm --precision $$p --threads $(THREADS) | tee -a target/bench.log; done; \
	  ./target/release/featdiv bench --threads $(THREADS) --repeats 5 | tee -a target/bench.log; \
	  .venv/bin/python bench/mlp_epoch.py data/fashion-mnist $(THREADS) 5 | tee -a target/bench.log; \
	  for f in "fp32 contiguous" "bf16 channels-last"; do set -- $$f; \
	    ./target/release/featdiv bench --model wrn --depth $(BENCH_DEPTH) --widen $(BENCH_WIDEN) --precision $$1 --memory-format $$2 --threads $(THREADS) --repeats 5 | tee -a target/bench.log; \
	    .venv/bin/python bench/wrn_step.py $(THREADS) 5 $(BENCH_DEPTH) $(BENCH_WIDEN) $$1 $$2 | tee -a target/bench.log; \
	  done; \
	done
	@python3 bench/ratio.py target/bench.log

DRAWS ?= 4000
calibrate: build            ## every verdict's size and power by simulation, DRAWS draws a scenario (47 s on an AMD EPYC): docs/calibration.json
	./target/release/featdiv calibrate --draws $(DRAWS) --out docs/calibration.json

gpu-bundle: setup          ## binaries for ci/gpu-check on a GPU machine without cargo, in gpu-bundle/ (< 64 MiB)
	@ci/gpu-bundle

lint: setup                 ## formatting, clippy, the layering of docs/architecture.md, functions under 80 lines, the CI workflows (actionlint)
	ci/layers
	ci/function-lengths 80
	ci/lint-workflows
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release --all-targets --features cuda-tests,full-claims -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
