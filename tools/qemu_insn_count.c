/* zoa — a qemu-user plugin that counts the guest instructions a program executes and prints "insns N" to stderr at
 * exit. qemu-aarch64 has no timing model, so the instruction count is the one cost figure an AArch64 kernel change
 * can be compared by on an x86 machine (tools/arm64_insns.sh). With ZOA_INSN_BLOCKS=<file> in the environment it also
 * writes one line "<guest address in hex> <instructions>" per translation block that ran, for a per-function profile.
 * Single-threaded guests only: every translated block adds its instruction count inline to non-atomic counters
 * (qemu's plugin API, version 1, as Debian 12's qemu-user 7.2 loads it; the few declarations it needs are below, so
 * no QEMU headers are required).
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                                  void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb*));
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb* tb);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb* tb, enum qemu_plugin_op op, void* ptr,
                                                     uint64_t imm);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void*), void* userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed;

/* per translated block (ZOA_INSN_BLOCKS only): its address and the instructions it executed, in a list */
struct block {
    uint64_t address, executed;
    struct block* next;
};
static struct block* blocks;
static const char* blocks_path;

/* every translated block adds its instruction count to `executed` (and to its own record) each time it runs */
static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
    (void)id;
    const uint64_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
    if (!blocks_path) return;
    struct block* b = calloc(1, sizeof *b);
    if (!b) return;
    b->address = qemu_plugin_tb_vaddr(tb);
    b->next = blocks;
    blocks = b;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->executed, n);
}

static void at_exit(qemu_plugin_id_t id, void* userdata) {
    (void)id;
    (void)userdata;
    fprintf(stderr, "insns %llu\n", (unsigned long long)executed);
    if (!blocks_path) return;
    FILE* f = fopen(blocks_path, "w");
    if (!f) {
        fprintf(stderr, "qemu_insn_count: cannot write %s\n", blocks_path);
        return;
    }
    for (const struct block* b = blocks; b; b = b->next)
        if (b->executed) fprintf(f, "%llx %llu\n", (unsigned long long)b->address, (unsigned long long)b->executed);
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t* info,
                                                               int argc, char** argv) {
    (void)info;
    (void)argc;
    (void)argv;
    blocks_path = getenv("ZOA_INSN_BLOCKS");
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
