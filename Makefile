# kestrel build. Sources are discovered, so a new file under src/, tests/unit,
# tests/fuzz, tests/harness or bench/ needs no edit here.
#
#   make              build/kestrel (release, -O2)
#   make check        unit tests (ASan+UBSan, TSan for the stress test), bounded
#                     fuzz runs, end-to-end tests; last line "N passed, N failed, N skipped"
#   make run          boot the default guest to a shell on the serial console
#   make fuzz FUZZ=<target> FUZZ_SECONDS=N
#   make bench-virtq  virtqueue micro-benchmarks
#   make bench-disk   disk engine and the virtio-blk device path vs raw liburing, 4K random reads at QD1 and QD32
#   make bench-seccomp  the seccomp filters' cost: ns per system call, and the device path at QD32 (docs/seccomp.md)
#   make bench-boot   boot-time benchmark (kestrel vs QEMU)
#   make bench-overhead  kestrel's own startup time and memory overhead (--stats)
#   make bench-fio    the fio table in the test host: level-1 host vs guest under kestrel vs QEMU
#   make bench-durability  kill -9 durability of --disk, 50 runs in the test host
#   make report       the guest-versus-host report: the fio table (host, kestrel, QEMU) in one test-host
#                     session, its chart, and docs/benchmarks.md's section (bench/report.sh)

BUILD      ?= build
CC         ?= gcc
CLANG      ?= clang
VERSION    := 0.1.0

WARNINGS   := -Wall -Wextra -Werror
BASE_FLAGS := -std=gnu11 -D_GNU_SOURCE -DKESTREL_VERSION='"$(VERSION)"' $(WARNINGS) -g -Isrc -Itests -MMD -MP
CFLAGS     ?= -O2
LDLIBS     := -lpthread -lseccomp -lnettle -lxxhash -luring
LDLIBS     += -ljson-c  # JSON for the control API (src/api/) and GET /stats (src/stats/)
# libmicrohttpd, libcurl, libslirp and the decompressors (liblzma, libzstd, zlib, liblz4) are not linked:
# src/api/http_libraries.c, src/backends/slirp_library.c and src/boot/decompression_libraries.c load them
# with dlopen when the API, --net user or a host-side decompression first needs them (docs/benchmarks.md).
# Tests and fuzzers that build compressed kernels (tests/unit/compressed_kernel.h) link the compressors.
TEST_LDLIBS := -llzma -lzstd -lz -llz4

# Test flavours define KESTREL_TEST_SEAMS: hooks that let tests act between a check and a use; absent from release.
# -Wno-tsan: GCC cannot model atomic_thread_fence under TSan and says so; the rings use
# full fences only for store->load ordering (notification handshakes), which TSan does not check.
ASAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -DKESTREL_TEST_SEAMS
TSAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=thread -Wno-tsan -DKESTREL_TEST_SEAMS
FUZZ_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -DKESTREL_FUZZING -DKESTREL_TEST_SEAMS -Wno-gnu-variable-sized-type-not-at-end

LIB_SRCS     := $(filter-out src/main.c,$(sort $(shell find src -name '*.c')))
HARNESS_SRCS := $(sort $(wildcard tests/harness/*.c))
UNIT_SRCS    := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRCS   := $(sort $(wildcard bench/bench_*.c))
# Tests that also run under ThreadSanitizer (multi-threaded ones).
TSAN_TESTS   := $(patsubst tests/unit/%.c,%,$(shell grep -l 'KESTREL_TSAN_TEST' $(UNIT_SRCS) /dev/null 2>/dev/null))

DEPS_STAMP := $(BUILD)/.deps-installed

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

RELEASE_LIB := $(BUILD)/release/libkestrel.a
ASAN_LIB    := $(BUILD)/asan/libkestrel.a
TSAN_LIB    := $(BUILD)/tsan/libkestrel.a
FUZZ_LIB    := $(BUILD)/fuzzobj/libkestrel.a

UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TSAN_BINS  := $(patsubst %,$(BUILD)/tests-tsan/%,$(TSAN_TESTS))
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.SECONDARY:
.PHONY: all deps check unit-tests tsan-tests fuzzers benches run fuzz bench-virtq bench-disk bench-seccomp bench-boot bench-overhead bench-fio bench-durability report clean
all: $(BUILD)/kestrel

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(dir $@)
	bash scripts/install-deps.sh
	@touch $@

# --- object flavours -------------------------------------------------------
$(BUILD)/release/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_FLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/asan/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_FLAGS) $(ASAN_FLAGS) -c $< -o $@
$(BUILD)/tsan/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_FLAGS) $(TSAN_FLAGS) -c $< -o $@
$(BUILD)/fuzzobj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE_FLAGS) $(FUZZ_FLAGS) -c $< -o $@

$(RELEASE_LIB): $(call obj,release,$(LIB_SRCS))
	@rm -f $@; ar rcs $@ $^
$(ASAN_LIB): $(call obj,asan,$(LIB_SRCS) $(HARNESS_SRCS))
	@rm -f $@; ar rcs $@ $^
$(TSAN_LIB): $(call obj,tsan,$(LIB_SRCS) $(HARNESS_SRCS))
	@rm -f $@; ar rcs $@ $^
$(FUZZ_LIB): $(call obj,fuzzobj,$(LIB_SRCS) $(HARNESS_SRCS))
	@rm -f $@; ar rcs $@ $^

# --- programs --------------------------------------------------------------
$(BUILD)/kestrel: $(BUILD)/release/src/main.o $(RELEASE_LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
# Sanitizer builds of the VMM itself: the end-to-end tests boot a real guest with each.
$(BUILD)/kestrel-asan: $(BUILD)/asan/src/main.o $(ASAN_LIB)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/kestrel-tsan: $(BUILD)/tsan/src/main.o $(TSAN_LIB)
	$(CC) $(TSAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/asan/tests/unit/%.o $(ASAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -o $@ $^ -lcmocka $(LDLIBS) $(TEST_LDLIBS)
$(BUILD)/tests-tsan/%: $(BUILD)/tsan/tests/unit/%.o $(TSAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_FLAGS) -o $@ $^ -lcmocka $(LDLIBS) $(TEST_LDLIBS)
$(BUILD)/fuzz/%: $(BUILD)/fuzzobj/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)
# Harness objects before the library: they call into it, and the linker scans an archive once.
$(BUILD)/bench/%: $(BUILD)/release/bench/%.o $(call obj,release,$(HARNESS_SRCS)) $(RELEASE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

unit-tests: $(UNIT_BINS)
tsan-tests: $(TSAN_BINS)
fuzzers: $(FUZZ_BINS)
benches: $(BENCH_BINS)

# --- entry points ----------------------------------------------------------
check: all unit-tests tsan-tests fuzzers $(BUILD)/kestrel-asan $(BUILD)/kestrel-tsan
	@bash tests/run-checks.sh

run: all
	@bash scripts/run-default-guest.sh

FUZZ_SECONDS ?= 60
FUZZ_USAGE := usage: make fuzz FUZZ=<target> FUZZ_SECONDS=N (targets: $(notdir $(FUZZ_BINS)))
# Without FUZZ= there is nothing to build: print the usage rather than a make error.
ifeq ($(strip $(FUZZ)),)
fuzz:
	@echo "$(FUZZ_USAGE)"; exit 2
else ifeq ($(filter $(BUILD)/fuzz/$(FUZZ),$(FUZZ_BINS)),)
fuzz:
	@echo "make fuzz: no fuzz target '$(FUZZ)'"; echo "$(FUZZ_USAGE)"; exit 2
else
fuzz: $(BUILD)/fuzz/$(FUZZ)
	bash tests/fuzz/run-fuzzer.sh $(FUZZ) $(FUZZ_SECONDS)
endif

bench-virtq: $(BUILD)/bench/bench_virtq
	$(BUILD)/bench/bench_virtq

bench-disk: $(BUILD)/bench/bench_disk
	$(BUILD)/bench/bench_disk

bench-seccomp: $(BUILD)/bench/bench_seccomp $(BUILD)/bench/bench_disk
	$(BUILD)/bench/bench_seccomp
	$(BUILD)/bench/bench_disk --seccomp-overhead

bench-boot: all
	bash bench/boot-time.sh

bench-overhead: all $(BUILD)/bench/bench_kernel_cache
	bash bench/vmm-overhead.sh

bench-fio: all
	bash bench/fio-table.sh

bench-durability: all
	bash bench/disk-durability.sh

report: all
	bash bench/report.sh

clean:
	rm -rf $(BUILD)/release $(BUILD)/asan $(BUILD)/tsan $(BUILD)/fuzzobj $(BUILD)/tests $(BUILD)/tests-tsan $(BUILD)/fuzz $(BUILD)/bench $(BUILD)/kestrel $(BUILD)/kestrel-asan $(BUILD)/kestrel-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
