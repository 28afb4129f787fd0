# aegir: `make run` sets up this machine and a demo site, `make test` runs
# every test against real nginx, php-fpm and MariaDB.
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
NFPM ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# The package's version: the last tag, else 0.0.0 with the commit's date and
# hash (a Debian version that sorts by date).
DEB_VERSION ?= $(shell git describe --tags --abbrev=0 2>/dev/null || echo 0.0.0~git$$(git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0))

.PHONY: build deps test lint run install clean bench bench-full deb

DEB_DIR ?= bin/

build:
	$(GO) build -o bin/aegir ./cmd/aegir

deps:
	bash scripts/deps.sh

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

lint:
	test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

install: build
	install -m 0755 bin/aegir /usr/local/bin/aegir

run: deps install
	bash scripts/run.sh

# Benchmarks (issue 6): quick sizes in a few minutes, full sizes in about
# half an hour; each prints its figures with their targets and writes its
# table into docs/benchmarks.md. AEGIR_BENCH_PROFILE=DIR keeps CPU profiles.
bench:
	$(GO) test -c -o bin/aegir-bench ./bench
	cd bench && AEGIR_BENCH=quick ../bin/aegir-bench -test.timeout 30m

bench-full:
	$(GO) test -c -o bin/aegir-bench ./bench
	cd bench && AEGIR_BENCH=full ../bin/aegir-bench -test.timeout 180m

# A Debian package: the binary, a systemd unit for aegir serve, its settings
# in /etc/default/aegir, the aegir user made on install (packaging/).
deb: build
	AEGIR_VERSION=$(DEB_VERSION) AEGIR_ARCH=$$($(GO) env GOARCH) \
		$(GO) run $(NFPM) package -p deb -f packaging/nfpm.yaml -t $(DEB_DIR)

clean:
	rm -rf bin
