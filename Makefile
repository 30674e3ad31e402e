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
prereqs: ## check the tools the local stack and tests need, installing moto and cfn-lint with pip when missing
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26+ from https://go.dev/dl/ (it cannot be installed for you)"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1] < 1 || (v[1] == 1 && v[2] < 26)) { print "Go 1.26+ is needed, found " $$3; exit 1 }}'
	@$(GO) mod download || { echo "could not download the Go modules (is the Go module proxy reachable? GOPROXY=$$($(GO) env GOPROXY))"; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "python3 is missing: install Python 3.9+ (apt-get install python3 python3-pip)"; exit 1; }
	@$(PYTHON) -c 'import moto, moto.server' 2>/dev/null || { \
	  echo "moto is missing: installing it with pip ($(PYTHON) -m pip install --user 'moto[server]==5.2.1')"; \
	  $(PYTHON) -m pip install --user 'moto[server]==5.2.1' >/dev/null || $(PYTHON) -m pip install --user --break-system-packages 'moto[server]==5.2.1' >/dev/null || { \
	    echo "could not install moto with pip: install it yourself (pip install 'moto[server]'), then run make again"; exit 1; }; }
	@PATH="$$PATH:$$($(PYTHON) -m site --user-base)/bin"; command -v cfn-lint >/dev/null || { \
	  echo "cfn-lint is missing: installing it with pip ($(PYTHON) -m pip install --user cfn-lint)"; \
	  $(PYTHON) -m pip install --user cfn-lint >/dev/null || $(PYTHON) -m pip install --user --break-system-packages cfn-lint >/dev/null || { \
	    echo "could not install cfn-lint with pip: install it yourself (pip install cfn-lint), then run make again"; exit 1; }; }

# Request shapes of the Stripe rail (internal/rewards/stripe) are checked
# against stripe-mock, which the tests start.
STRIPE_MOCK = $(shell $(GO) env GOPATH)/bin/stripe-mock

.PHONY: stripe-mock
stripe-mock: ## install stripe-mock (go install) when missing
	@test -x $(STRIPE_MOCK) || { echo "installing stripe-mock: go install github.com/stripe/stripe-mock@v0.203.0"; \
	  $(GO) install github.com/stripe/stripe-mock@v0.203.0 || { echo "could not install stripe-mock (is the Go module proxy reachable?)"; exit 1; }; }

# Browser tests (infra/browser): Debian's Chromium and axe-core from npm.
AXE := .cache/npm/node_modules/axe-core/axe.min.js

.PHONY: browser-deps
browser-deps: ## install what the browser tests need when missing: chromium (apt) and axe-core (npm, into .cache/npm)
	@if [ -n "$$REFERFLOW_CHROMIUM" ] || [ -x /usr/bin/chromium ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then :; else \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "chromium is missing and cannot be installed: not root and no sudo. As root: apt-get install -y chromium (or set REFERFLOW_CHROMIUM to a Chromium binary)"; exit 1; fi; \
	  echo "installing chromium: $$SUDO apt-get install -y chromium"; \
	  $$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; } || { \
	    echo "could not install chromium with apt-get: install it yourself (apt-get install chromium) or set REFERFLOW_CHROMIUM"; exit 1; }; fi
	@test -f $(AXE) || { \
	  command -v npm >/dev/null || { echo "npm is missing, so axe-core cannot be installed: apt-get install -y npm (or set REFERFLOW_AXE to an axe.min.js)"; exit 1; }; \
	  echo "installing axe-core: npm install --no-save --prefix .cache/npm axe-core@4"; \
	  npm install --no-save --no-audit --no-fund --prefix .cache/npm axe-core@4 >/dev/null || { echo "could not install axe-core with npm (is the npm registry reachable?)"; exit 1; }; }

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
	PATH="$$PATH:$$($(PYTHON) -m site --user-base)/bin" cfn-lint template.yaml

.PHONY: test
test: lint browser-deps stripe-mock ## every test: unit, store (moto), end-to-end (local stack, browser), then each fuzz target briefly
	$(GO) test -count=1 -timeout 30m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; GO=$(GO) infra/fuzz/fuzz-one $$pkg $$t $(FUZZTIME) || exit 1; \
	  done; done

.PHONY: bench
bench: prereqs ## per-referral cost (BENCH_N journeys through the local stack), cold starts vs hello world, the portal page's time and weight, a month's KPI read at 1,000 and 100,000 referrals, Go benchmarks
	$(GO) test -run '^$$' -bench 'ReferralJourney' -benchtime $(BENCH_N)x -timeout 30m ./infra/e2e
	$(GO) test -run '^$$' -bench 'ColdStart' -benchtime 1x -timeout 30m ./infra/e2e
	$(GO) test -run '^$$' -bench 'PortalPage' -benchtime 50x -timeout 30m ./infra/e2e
	$(GO) test -run '^$$' -bench 'KPIRead' -benchtime 20x -timeout 30m ./infra/e2e
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: chaos
chaos: prereqs ## the chaos soak: CHAOS_REFERRALS (200) mixed journeys under a fault plan with every fault on, paying through the Stripe fake with ambiguous payout failures; prints the table (0 double, 0 missing provider payouts)
	CHAOS_REFERRALS=$(CHAOS_REFERRALS) $(GO) test -count=1 -v -run '^TestChaosNothingStuckLostOrPaidWrongly$$' -timeout 60m ./infra/e2e

.PHONY: clean
clean: ## remove build output
	rm -rf build .aws-sam
