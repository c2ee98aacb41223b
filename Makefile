# Isthmus build: BPF objects and skeletons, the daemons, gwctl, and every test suite.
# `make help` lists the targets.

PREFIX      ?= /usr/local
DESTDIR     ?=
BUILD       ?= build
CC          ?= gcc
CLANG       ?= clang
BPFTOOL     ?= bpftool
ARCH_INC    := /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)

WARN        := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS      ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -I$(BUILD)
LDLIBS_GW   := -lbpf -lelf -lz -lconfig -ljansson -luv -lm -lhttp_parser
LDLIBS_TEST := $(LDLIBS_GW) -lcmocka
BPF_CFLAGS  := -O2 -g -target bpf -Wall -Werror -I$(ARCH_INC) -Iinclude

# Sources are discovered: a module is a .c file; main.c holds a daemon's main().
BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LAB_BPF     := $(patsubst tests/lab/%.bpf.c,$(BUILD)/lab/%.bpf.o,$(wildcard tests/lab/*.bpf.c))
LIB_SRCS    := $(filter-out gateway/main.c,$(wildcard gateway/*.c))
LIB_OBJS    := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
CTL_SRCS    := $(filter-out gateway/gwctl/main.c,$(wildcard gateway/gwctl/*.c))
CTL_OBJS    := $(patsubst %.c,$(BUILD)/%.o,$(CTL_SRCS))
CS_SRCS     := $(filter-out cluster-sync/main.c,$(wildcard cluster-sync/*.c))
CS_OBJS     := $(patsubst %.c,$(BUILD)/%.o,$(CS_SRCS))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
BPFT_SRCS   := $(wildcard tests/bpf/test_*.c)
BPFT_BINS   := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
ETCDT_SRCS  := $(wildcard tests/etcd/test_*.c)
ETCDT_BINS  := $(patsubst tests/etcd/%.c,$(BUILD)/tests/etcd/%,$(ETCDT_SRCS))
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS  := $(wildcard tests/bench/*.c)
BENCH_BINS  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

PROGRAMS    := $(BUILD)/gatewayd $(BUILD)/gwctl
ifneq ($(wildcard cluster-sync/main.c),)
PROGRAMS    += $(BUILD)/cluster-syncd
endif

FUZZ_SECONDS ?= 20

.PHONY: all deps check test test-bpf test-etcd test-lab demo asan fuzz fuzz-smoke bench format format-check install clean help
.DEFAULT_GOAL := all

all: $(BPF_OBJS) $(BPF_SKELS) $(LAB_BPF) $(PROGRAMS) $(UNIT_BINS) $(BPFT_BINS) $(ETCDT_BINS) $(BENCH_BINS)

help:
	@echo "make            build everything (BPF, daemons, gwctl, tests)"
	@echo "make deps       install build, test and demo packages (apt, as root)"
	@echo "make check      unit tests (no root, no network)"
	@echo "make test       deps + build + unit + BPF + etcd + fuzz smoke + lab tests (root)"
	@echo "make demo       bring up the 3-site lab mesh until Ctrl-C (root)"
	@echo "make asan       unit tests under AddressSanitizer + UBSan"
	@echo "make fuzz       run every fuzz target for FUZZ_SECONDS (default 20) each"
	@echo "make bench      build and run the benchmarks in tests/bench (root)"
	@echo "make format-check / format / install / clean"

deps:
	@tests/deps.sh

# --- BPF ------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/gw/abi/*.h) $(wildcard include/gw/pipeline/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/lab/%.bpf.o: tests/lab/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# --- userspace -------------------------------------------------------------
HDRS := $(wildcard include/gw/*.h include/gw/abi/*.h include/gw/pipeline/*.h cluster-sync/*.h gateway/*.h gateway/gwctl/*.h)

$(BUILD)/%.o: %.c $(HDRS) | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libgw.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libgwctl.a: $(CTL_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libcs.a: $(CS_OBJS) $(BUILD)/libgw.a
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $(CS_OBJS)

$(BUILD)/gatewayd: $(BUILD)/gateway/main.o $(BUILD)/libgw.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_GW)

$(BUILD)/gwctl: $(BUILD)/gateway/gwctl/main.o $(BUILD)/libgwctl.a
	$(CC) $(CFLAGS) -o $@ $^ -ljansson -lhttp_parser

$(BUILD)/cluster-syncd: $(BUILD)/cluster-sync/main.o $(BUILD)/libcs.a $(BUILD)/libgw.a $(BUILD)/libgwctl.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_GW) -lcurl

$(BUILD)/tests/unit/%: tests/unit/%.c $(HDRS) $(wildcard tests/unit/*.h) $(BUILD)/libgw.a $(BUILD)/libgwctl.a $(if $(CS_OBJS),$(BUILD)/libcs.a)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(if $(CS_OBJS),$(BUILD)/libcs.a) $(BUILD)/libgw.a $(BUILD)/libgwctl.a $(LDLIBS_TEST) $(if $(CS_OBJS),-lcurl)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(HDRS) $(wildcard tests/bpf/*.h) $(BPF_SKELS) $(BUILD)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/bpf -o $@ $< $(BUILD)/libgw.a $(LDLIBS_TEST) $(TEST_WRAP)

# test_reload and test_restart check every map write of a batch as it is
# made (batch_check_*, tests/bpf/reload_fixture.h)
$(BUILD)/tests/bpf/test_reload $(BUILD)/tests/bpf/test_restart: TEST_WRAP := \
	-Wl,--wrap=gw_dp_svc_set,--wrap=gw_dp_backend_set,--wrap=gw_dp_maglev_swap

$(BUILD)/tests/etcd/%: tests/etcd/%.c $(HDRS) $(wildcard tests/etcd/*.h) $(BUILD)/libcs.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcs.a $(LDLIBS_TEST) -lcurl

$(BUILD)/bench/%: tests/bench/%.c $(HDRS) $(wildcard tests/bench/*.h) $(BPF_SKELS) $(BUILD)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libgw.a $(LDLIBS_GW)

# --- tests -----------------------------------------------------------------
check: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

test-bpf: $(BPFT_BINS) $(BPF_OBJS)
	@tests/run-unit.sh $(BPFT_BINS)

test-etcd: $(ETCDT_BINS)
	@tests/run-unit.sh $(ETCDT_BINS)

test-lab: all
	@tests/lab/run

fuzz-smoke: $(FUZZ_BINS)
	@tests/fuzz/run.sh 10 $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(HDRS) $(wildcard tests/unit/pipeline_*.h)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined -o $@ $<

test: deps
	$(MAKE) all
	$(MAKE) check
	$(MAKE) test-bpf
	$(MAKE) test-etcd
	$(MAKE) fuzz-smoke
	$(MAKE) test-lab

demo: deps
	$(MAKE) all
	@tests/lab/demo

asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" check

bench: all
	@tests/bench/run.sh

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: ok"

install: $(PROGRAMS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/isthmus $(DESTDIR)/lib/systemd/system
	install -m 0755 $(BUILD)/gatewayd $(DESTDIR)$(PREFIX)/sbin/gatewayd
	install -m 0755 $(BUILD)/gwctl $(DESTDIR)$(PREFIX)/bin/gwctl
	if [ -f $(BUILD)/cluster-syncd ]; then install -m 0755 $(BUILD)/cluster-syncd $(DESTDIR)$(PREFIX)/sbin/cluster-syncd; fi
	install -m 0644 conf/site-a.conf $(DESTDIR)/etc/isthmus/gateway.conf.example
	for u in conf/systemd/*.service; do sed 's|@PREFIX@|$(PREFIX)|g' $$u > $(DESTDIR)/lib/systemd/system/$$(basename $$u); done

clean:
	rm -rf $(BUILD)
