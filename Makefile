# Referflow entry points. `make help` lists them.
#
# SAM builds each function with `make build-<LogicalId>` (BuildMethod:
# makefile) and ARTIFACTS_DIR set; the local stack calls the same targets
# with GOARCH set to the host's.

GO          ?= go
GOOS        ?= linux
GOARCH      ?= arm64
PYTHON      ?= python3
PORT        ?= 3000
FUZZTIME    ?= 30s
TEST_FUZZTIME ?= 3s
BENCH_N     ?= 20
CHAOS_REFERRALS ?= 200

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# ----------------------------------------------------------------- builds
# build-IntakeFunction builds functions/intake, and so on: the function's
# directory is its LogicalId without "Function", lower-cased.
build-%Function: ## build one function as SAM does (ARTIFACTS_DIR=...)
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (SAM sets it; try: make build)"; exit 1; }
	GOOS=$(GOOS) GOARCH=$(GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
		-o $(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo $* | tr A-Z a-z)

FUNCTIONS := $(shell grep -E '^  [A-Za-z]+Function:$$' template.yaml | tr -d ' :')

.PHONY: build
build: ## build every function in template.yaml to build/<LogicalId>/bootstrap (linux/arm64)
	@for f in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=$(CURDIR)/build/$$f || exit 1; done
	@ls -la build/*/bootstrap

# ----------------------------------------------------------------- prerequisites
.PHONY: prereqs
prereqs: ## check the tools the local stack and tests need
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26+ from https://go.dev/dl/"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1] < 1 || (v[1] == 1 && v[2] < 26)) { print "Go 1.26+ is needed, found " $$3; exit 1 }}'
	@command -v $(PYTHON) >/dev/null || { echo "python3 is missing: install Python 3.9+ (apt-get install python3 python3-pip)"; exit 1; }
	@$(PYTHON) -c 'import moto, moto.server' 2>/dev/null || { echo 'moto is missing: pip install "moto[server]"'; exit 1; }
	@command -v cfn-lint >/dev/null || { echo "cfn-lint is missing: pip install cfn-lint"; exit 1; }

# ----------------------------------------------------------------- run
.PHONY: run
run: prereqs ## run the whole stack locally (HTTP API on :$(PORT)); Ctrl-C stops it
	PORT=$(PORT) $(GO) run ./infra/local

.PHONY: demo
demo: ## against a running `make run`: one referral from form to paid rewards
	$(GO) run ./infra/cmd/demo -api http://127.0.0.1:$(PORT)

# ----------------------------------------------------------------- quality
.PHONY: lint
lint: prereqs ## gofmt, go vet, cfn-lint
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); test -z "$$out" || { echo "gofmt would change:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	cfn-lint template.yaml

.PHONY: test
test: lint ## every test: unit, store (moto), end-to-end (local stack), then each fuzz target briefly
	$(GO) test -count=1 -timeout 30m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

.PHONY: bench
bench: prereqs ## per-referral cost (BENCH_N journeys through the local stack), cold starts vs hello world, Go benchmarks
	$(GO) test -run '^$$' -bench 'ReferralJourney' -benchtime $(BENCH_N)x -timeout 30m ./infra/e2e
	$(GO) test -run '^$$' -bench 'ColdStart' -benchtime 1x -timeout 30m ./infra/e2e
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: chaos
chaos: prereqs ## the chaos soak: CHAOS_REFERRALS (200) mixed journeys under a fault plan with every fault on; prints the table
	CHAOS_REFERRALS=$(CHAOS_REFERRALS) $(GO) test -count=1 -v -run '^TestChaosNothingStuckLostOrPaidWrongly$$' -timeout 60m ./infra/e2e

.PHONY: clean
clean: ## remove build output
	rm -rf build .aws-sam
