// The C side of the Vulkan backend: a thin layer over the Vulkan API, loaded
// at run time. Every entry point returns a status (0 = success) and writes a
// message; none aborts. Go validates what it passes in.
#ifndef IR_VK_H
#define IR_VK_H

#include <stddef.h>
#include <stdint.h>

enum { IR_VK_BINDINGS = 6, IR_VK_PUSH_WORDS = 32 };

typedef struct ir_vk_info {
    char name[256];
    char driver[256];
    uint32_t vendor_id, device_id, type, api_version;
    uint64_t vram;            // sum of the device-local heaps
    int32_t fp16, int8_dot;   // shaderFloat16, shaderIntegerDotProduct
    uint32_t subgroup;        // subgroup size, 0 when unknown
    int32_t subgroup_arith;   // compute shaders have subgroup arithmetic (subgroupAdd)
    uint32_t min_align;       // minStorageBufferOffsetAlignment
    uint64_t max_range;       // maxStorageBufferRange
    uint32_t max_groups[3];   // maxComputeWorkGroupCount
    uint32_t max_push;        // maxPushConstantsSize
    int32_t uma;              // a memory type is both device local and host visible
} ir_vk_info;

typedef struct ir_vk_ctx ir_vk_ctx;
typedef struct ir_vk_buf ir_vk_buf;
typedef struct ir_vk_stream ir_vk_stream;

// A command of a graph step: a dispatch (kind 0), a barrier between what
// came before and what follows (kind 1), or a buffer copy (kind 2: bufs[0]
// at offs[0] to bufs[1] at offs[1], ranges[0] bytes).
typedef struct ir_vk_cmd {
    int32_t kind;
    int32_t pipeline;
    uint32_t groups[3];
    ir_vk_buf *bufs[IR_VK_BINDINGS];
    uint64_t offs[IR_VK_BINDINGS];
    uint64_t ranges[IR_VK_BINDINGS];
    uint32_t push[IR_VK_PUSH_WORDS];
} ir_vk_cmd;

// ir_vk_init opens the loader (path, or the system's when NULL) once.
int ir_vk_init(const char *path, char *msg, int n);
int ir_vk_device_count(void);
int ir_vk_device_info(int i, ir_vk_info *out);
// ir_vk_device_budget reports what the device-local heaps may still take
// (VK_EXT_memory_budget, counting every process); -1 where unknown.
int64_t ir_vk_device_budget(int i);

ir_vk_ctx *ir_vk_open(int i, int staging, char *msg, int n);
void ir_vk_close(ir_vk_ctx *c);
int ir_vk_pipeline(ir_vk_ctx *c, const void *code, size_t bytes, char *msg, int n);

// host: host-visible memory for transfers (always mapped); otherwise device
// memory, mapped only where it is host visible and staging is off.
ir_vk_buf *ir_vk_buf_new(ir_vk_ctx *c, uint64_t size, int host, char *msg, int n);
void ir_vk_buf_free(ir_vk_ctx *c, ir_vk_buf *b);
void *ir_vk_buf_map(ir_vk_buf *b);

// ir_vk_transfer copies or (src NULL) zeroes bytes with its own submission.
int ir_vk_transfer(ir_vk_ctx *c, ir_vk_buf *src, uint64_t soff, ir_vk_buf *dst, uint64_t doff, uint64_t size, char *msg, int n);

ir_vk_stream *ir_vk_stream_new(ir_vk_ctx *c, char *msg, int n);
void ir_vk_stream_free(ir_vk_ctx *c, ir_vk_stream *s);
// ir_vk_run records cmds into one command buffer, submits it and waits.
int ir_vk_run(ir_vk_ctx *c, ir_vk_stream *s, const ir_vk_cmd *cmds, int ncmds, char *msg, int n);

#endif
