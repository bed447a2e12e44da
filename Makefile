# Inference Runtime: build, run and test.
#
#   make run    set up what is missing, build, open the desktop app
#   make test   everything CI checks (this is all .ci/run does)
#
# Go code is always built with the go-sqlite3 tag sqlite_fts5 (chat search
# needs FTS5); use $(TAGS) when you call go yourself:
#   go test -tags sqlite_fts5 ./backend/...

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO      ?= go
TAGS    := sqlite_fts5
BIN     := bin
DESKTOP := $(BIN)/inference-runtime
DEV     := $(BIN)/inference-runtime-dev
IR      := $(BIN)/ir

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG_BI  := inferenceruntime/backend/buildinfo
# Expand once, so every binary of one make run carries the same stamp.
VERSION := $(VERSION)
COMMIT  := $(COMMIT)
DATE    := $(DATE)
LDFLAGS := -X $(PKG_BI).Version=$(VERSION) -X $(PKG_BI).Commit=$(COMMIT) -X $(PKG_BI).Date=$(DATE)

# Versions are stamped with -ldflags, so the go command need not ask git
# (which fails, for example, in a clone owned by another user).
export GOFLAGS := $(strip $(GOFLAGS) -buildvcs=false)

# No display (SSH, CI): run the window on a virtual X server.
XRUN := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1280x800x24")

.PHONY: build setup bindings frontend desktop desktop-dev ir run screenshot screenshot-chat \
        test test-tidy vet test-go test-ir-deps test-frontend test-e2e test-smoke test-api clean shaders \
        dist dist-linux dist-windows dist-docker test-dist test-proxy test-darwin

build: desktop ir

## setup: install missing system packages, npm packages and Go modules
setup:
	scripts/bootstrap.sh

## bindings: generate frontend/wailsjs the way the wails CLI does, without it:
## build the app with -tags bindings and run it; it writes the TS bindings.
bindings: setup
	mkdir -p $(BIN)
	$(GO) build -buildvcs=false -tags bindings,$(TAGS) -o $(BIN)/wailsbindings .
	./$(BIN)/wailsbindings >$(BIN)/wailsbindings.log
	rm -f $(BIN)/wailsbindings

## frontend: build frontend/dist (embedded into the desktop binary)
frontend: bindings
	cd frontend && npm run build

## desktop: the production desktop app
desktop: frontend
	$(GO) build -tags desktop,production,$(TAGS) -ldflags "$(LDFLAGS)" -o $(DESKTOP) .

## desktop-dev: the dev build; its dev server serves the UI and bindings to a browser
desktop-dev: frontend
	$(GO) build -tags dev,$(TAGS) -ldflags "$(LDFLAGS)" -o $(DEV) .

## ir: the command-line tool (no GUI libraries)
ir: setup
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(IR) ./cmd/ir

## run: open the desktop app (under Xvfb when there is no display)
run: desktop
	$(if $(DISPLAY),,@echo "make run: no display, so the window is on an invisible virtual display (Xvfb); Ctrl-C stops it, and 'make screenshot' shows it")
	$(XRUN) ./$(DESKTOP)

## screenshot: start the app under Xvfb and save bin/screenshot.png
screenshot: desktop
	e2e/smoke.sh $(DESKTOP) $(BIN)/screenshot.png

## screenshot-chat: hold a real chat in the dev build, then photograph the
## production app showing it (bin/chat.png)
screenshot-chat: desktop desktop-dev
	e2e/screenshot-chat.sh $(DESKTOP) $(DEV) $(BIN)/chat.png

test: test-tidy vet test-go test-ir-deps test-frontend test-e2e test-smoke screenshot-chat test-api \
      test-dist test-proxy test-darwin

## test-tidy: go.mod and go.sum must be what `go mod tidy` makes them; on failure
## it prints the diff, run `go mod tidy` to apply it
test-tidy: setup
	$(GO) mod tidy -diff

vet: bindings
	$(GO) vet -tags $(TAGS) ./...

test-go: setup
	$(GO) test -tags $(TAGS) ./...

## test-ir-deps: ir must link no GUI code
test-ir-deps: setup
	@n=$$($(GO) list -tags $(TAGS) -deps ./cmd/ir | grep -c wailsapp || true); \
	if [ "$$n" != 0 ]; then echo "cmd/ir depends on $$n wails packages"; exit 1; fi; \
	echo "cmd/ir links no wails packages"

test-frontend: bindings
	cd frontend && npm run check && npm test

test-e2e: desktop-dev ir
	IR_E2E_IR=$(IR) IR_E2E_BINARY=$(DEV) IR_E2E_VERSION=$(VERSION) IR_E2E_GO_VERSION=$$($(GO) env GOVERSION) \
		xvfb-run -a -s "-screen 0 1280x800x24" node --test --test-concurrency=1 e2e/*.test.mjs

test-smoke: desktop
	e2e/smoke.sh $(DESKTOP) $(BIN)/smoke.png

## test-api: the HTTP API driven by the official openai and ollama clients
test-api: ir
	e2e/api/run.sh $(IR)

## shaders: compile the Vulkan backend's GLSL to the committed SPIR-V (needs glslc)
shaders:
	$(GO) run ./inference/compute/vulkan/shaders/gen

## dist: the packages, in dist/: the Linux .deb and tarball, the Windows
## executables and installer (cross-compiled with mingw-w64), and the
## context of the ir serve image (docker build -t inference-runtime dist/docker)
DIST_ENV = GO="$(GO)" TAGS="$(TAGS)" VERSION="$(VERSION)" LDFLAGS="$(LDFLAGS)"
dist: dist-linux dist-windows dist-docker

dist-linux: desktop ir
	$(DIST_ENV) scripts/dist.sh linux

dist-windows: frontend
	$(DIST_ENV) scripts/dist.sh windows

dist-docker: setup
	$(DIST_ENV) scripts/dist.sh docker

## test-dist: check what make dist built; as root, install the .deb with apt-get
## in a throw-away overlay and open a .gguf in the installed app with xdg-open,
## and build and run the image where a Docker daemon can be started
test-dist: dist
	e2e/dist/linux.sh dist
	e2e/dist/windows.sh dist
	e2e/dist/docker.sh dist

## test-proxy: two ir serve behind nginx (build/nginx/inference-runtime.conf)
test-proxy: ir
	e2e/proxy/run.sh $(IR)

## test-darwin: the code for macOS compiles (GOOS=darwin go vet)
test-darwin: setup
	$(DIST_ENV) scripts/vet-darwin.sh

clean:
	rm -rf $(BIN) dist frontend/wailsjs
	find frontend/dist -mindepth 1 ! -name .gitkeep -delete
