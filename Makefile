# Berth's build, run and test entry points. `make help` lists them.
#
#   make up     install what Berth needs, build it and run `berth up`
#   make test   the whole suite: vet, unit tests (under the race detector),
#               end-to-end tests and a short fuzz run

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO      ?= go
BIN     ?= bin/berth
UP_ARGS ?=

# Every package's tests run under the race detector (unit-race) but those
# of NORACE_PKGS, which start no goroutines and share no state (wire types
# and test programs; `unit` runs them). test/e2e runs on its own, against a
# real `berth up`. On 2 busy cores unit-race takes about 3 minutes, most of
# it internal/ecs (70 s), internal/ecr (40 s), internal/logs and internal/iam.
NORACE_PKGS := ./internal/acs ./test/s3server ./test/testapp
E2E_PKG     := ./test/e2e/

# Generous timeouts: the machine has 2 cores and the race detector is slow.
UNIT_TIMEOUT ?= 10m
E2E_TIMEOUT  ?= 25m
TEST_FLAGS   ?= -count=1
E2E_FLAGS    ?= -count=1 -v

# Fuzz targets run by `make fuzz` (and so by `make test`), one per line
# (end each but the last with a backslash) as
# <package dir>:<FuzzName>[:<budget>]. The budget is an execution count
# ("200000x"), FUZZ_BUDGET by default: a count, not a duration, because with
# a duration Go 1.26's fuzz coordinator can fail at the deadline with a bare
# "context deadline exceeded" on a loaded machine (go.dev/issue/75804).
# Size a budget to about 10 s on 2 cores (fuzzing prints execs/sec).
# Add new targets here.
FUZZ_TARGETS ?= \
	./internal/auth/sigv4:FuzzVerify:200000x \
	./internal/ecs:FuzzRegisterTaskDefinition:100000x \
	./internal/ecs:FuzzDecodeRunTask:4000x \
	./internal/iam/policy:FuzzParse:150000x \
	./internal/placement:FuzzParseExpr:200000x
FUZZ_BUDGET  ?= 100000x
FUZZ_TIMEOUT ?= 5m

# Docker is installed and started by scripts/deps.sh before the tests, so a
# test that needs Docker fails rather than skips when it is missing.
export BERTH_REQUIRE_DOCKER ?= 1

.PHONY: help deps build up test vet unit-race unit e2e fuzz bench clean

help:
	@echo "make build   build $(BIN)"
	@echo "make up      install dependencies, build and run '$(BIN) up' (UP_ARGS=... adds flags)"
	@echo "make test    vet + unit tests (race detector) + e2e + fuzz"
	@echo "make e2e     end-to-end tests only (needs Docker; installs it)"
	@echo "make fuzz    short fuzz run of each of FUZZ_TARGETS"
	@echo "make bench   benchmarks (not part of make test)"

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/berth

up: deps build
	./$(BIN) up $(UP_ARGS)

# test runs every stage even when an earlier one fails, then fails if any did.
TEST_STAGES := vet unit-race unit e2e fuzz

test: deps
	@failed=""; \
	for stage in $(TEST_STAGES); do \
		$(MAKE) --no-print-directory $$stage || failed="$$failed $$stage"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: failed stages:$$failed" >&2; exit 1; fi

vet:
	$(GO) vet ./...

unit-race:
	$(GO) test $(TEST_FLAGS) -race -timeout $(UNIT_TIMEOUT) $$(comm -23 \
		<($(GO) list ./... | sort) <($(GO) list $(NORACE_PKGS) $(E2E_PKG) | sort))

unit:
	$(GO) test $(TEST_FLAGS) -timeout $(UNIT_TIMEOUT) $(NORACE_PKGS)

e2e: deps
	$(GO) test $(E2E_FLAGS) -timeout $(E2E_TIMEOUT) $(E2E_PKG)

fuzz:
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name budget <<<"$$t"; \
		budget=$${budget:-$(FUZZ_BUDGET)}; \
		echo "$(GO) test -run='^$$' -fuzz='^$$name\$$' -fuzztime=$$budget -timeout=$(FUZZ_TIMEOUT) $$pkg"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime="$$budget" -timeout=$(FUZZ_TIMEOUT) "$$pkg" || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: failed targets:$$failed" >&2; exit 1; fi

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -timeout 30m ./...

clean:
	rm -rf bin
