# Berth — see README.md. `make run` and `make test` work on a fresh Debian machine (as root).

DEB_PACKAGES := containerd runc tini busybox-static iptables nftables iproute2 util-linux bsdutils procps docker-compose openssl passwd docker-registry apache2-utils skopeo
NPM_STAMP := node_modules/.package-lock.json

.PHONY: build deps run test stress unit integration bench clean

build: deps dist/.built

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@[ -f $(NPM_STAMP) ] && [ $(NPM_STAMP) -nt package-lock.json ] || npm ci --no-audit --no-fund

# A fresh dist/ each time: tsc never removes the output of a source that was moved or deleted,
# and the test runner would still run a stale test.
dist/.built: $(shell find src integration integration-cli hack -name '*.ts' -o -name '*.cts' -o -name '*.proto' 2>/dev/null) tsconfig.json package-lock.json
	rm -rf dist
	npx tsc -p tsconfig.json
	node hack/copy-assets.mjs
	@touch $@

run: build
	./bin/berthd $(ARGS)

test: build
	node hack/run-tests.mjs

# The API fuzzer's suite run (hostile clients at every route); not part of `make test`.
stress: build
	node hack/run-tests.mjs integration/stress

bench: build
	hack/bench/run-latency

clean:
	rm -rf dist
