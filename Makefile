# aegir: `make run` sets up this machine and a demo site, `make test` runs
# every test against real nginx, php-fpm and MariaDB.
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build deps test lint run install clean bench bench-full

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

clean:
	rm -rf bin
