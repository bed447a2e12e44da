// The Vulkan loader is opened at run time, so the binary has no link-time
// dependency on it and starts where Vulkan is missing. The headers are only
// needed to build: without them this file compiles to stubs that report it.
#include "ir_vk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include) && !defined(IR_VK_NO_HEADERS)
#if __has_include(<vulkan/vulkan.h>)
#define IR_VK_HAVE_HEADERS 1
#endif
#endif

#ifndef IR_VK_HAVE_HEADERS

int ir_vk_init(const char *path, char *msg, int n) {
    (void)path;
    snprintf(msg, n, "built without the Vulkan headers (install libvulkan-dev and rebuild)");
    return -1;
}
int ir_vk_device_count(void) { return 0; }
int ir_vk_device_info(int i, ir_vk_info *out) { (void)i; (void)out; return -1; }
int64_t ir_vk_device_budget(int i) { (void)i; return -1; }
ir_vk_ctx *ir_vk_open(int i, int staging, char *msg, int n) {
    (void)i; (void)staging;
    snprintf(msg, n, "built without the Vulkan headers");
    return NULL;
}
void ir_vk_close(ir_vk_ctx *c) { (void)c; }
int ir_vk_pipeline(ir_vk_ctx *c, const void *code, size_t bytes, char *msg, int n) {
    (void)c; (void)code; (void)bytes;
    snprintf(msg, n, "built without the Vulkan headers");
    return -1;
}
ir_vk_buf *ir_vk_buf_new(ir_vk_ctx *c, uint64_t size, int host, char *msg, int n) {
    (void)c; (void)size; (void)host;
    snprintf(msg, n, "built without the Vulkan headers");
    return NULL;
}
void ir_vk_buf_free(ir_vk_ctx *c, ir_vk_buf *b) { (void)c; (void)b; }
void *ir_vk_buf_map(ir_vk_buf *b) { (void)b; return NULL; }
int ir_vk_transfer(ir_vk_ctx *c, ir_vk_buf *src, uint64_t soff, ir_vk_buf *dst, uint64_t doff, uint64_t size, char *msg, int n) {
    (void)c; (void)src; (void)soff; (void)dst; (void)doff; (void)size;
    snprintf(msg, n, "built without the Vulkan headers");
    return -1;
}
ir_vk_stream *ir_vk_stream_new(ir_vk_ctx *c, char *msg, int n) {
    (void)c;
    snprintf(msg, n, "built without the Vulkan headers");
    return NULL;
}
void ir_vk_stream_free(ir_vk_ctx *c, ir_vk_stream *s) { (void)c; (void)s; }
int ir_vk_run(ir_vk_ctx *c, ir_vk_stream *s, const ir_vk_cmd *cmds, int ncmds, char *msg, int n) {
    (void)c; (void)s; (void)cmds; (void)ncmds;
    snprintf(msg, n, "built without the Vulkan headers");
    return -1;
}

#else

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#ifdef _WIN32
#include <windows.h>
static void *open_lib(const char *path) {
    return (void *)LoadLibraryA(path ? path : "vulkan-1.dll");
}
static void *lib_sym(void *lib, const char *name) { return (void *)GetProcAddress((HMODULE)lib, name); }
#else
#include <dlfcn.h>
static void *open_lib(const char *path) {
    if (path) return dlopen(path, RTLD_NOW | RTLD_LOCAL);
#ifdef __APPLE__
    static const char *names[] = {"libvulkan.1.dylib", "libvulkan.dylib", "libMoltenVK.dylib", NULL};
#else
    static const char *names[] = {"libvulkan.so.1", "libvulkan.so", NULL};
#endif
    for (int i = 0; names[i]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}
static void *lib_sym(void *lib, const char *name) { return dlsym(lib, name); }
#endif

// The functions the backend calls, looked up once through the loader.
#define IR_VK_FUNCS(X)                                                                                    \
    X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties)                   \
    X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2)                                     \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceQueueFamilyProperties)                    \
    X(vkEnumerateDeviceExtensionProperties) X(vkCreateDevice) X(vkDestroyDevice) X(vkGetDeviceQueue)     \
    X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements) X(vkAllocateMemory)            \
    X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory) X(vkCreateShaderModule)                         \
    X(vkDestroyShaderModule) X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout)              \
    X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout) X(vkCreateComputePipelines) X(vkDestroyPipeline) \
    X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool) X(vkResetDescriptorPool)                        \
    X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets) X(vkCreateCommandPool) X(vkDestroyCommandPool) \
    X(vkAllocateCommandBuffers) X(vkResetCommandBuffer) X(vkBeginCommandBuffer) X(vkEndCommandBuffer)    \
    X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets) X(vkCmdPushConstants) X(vkCmdDispatch)              \
    X(vkCmdPipelineBarrier) X(vkCmdCopyBuffer) X(vkCmdFillBuffer) X(vkCreateFence) X(vkDestroyFence)      \
    X(vkResetFences) X(vkWaitForFences) X(vkQueueSubmit) X(vkDeviceWaitIdle) X(vkGetPhysicalDeviceMemoryProperties2)

#define IR_VK_DECL(f) static PFN_##f p_##f;
IR_VK_FUNCS(IR_VK_DECL)

static void *lib;
static VkInstance instance;
static uint32_t api_version = VK_API_VERSION_1_0;
static VkPhysicalDevice *phys;
static uint32_t nphys;
static int init_rc = 1;  // 1: not tried yet
static char init_msg[256];

static const char *vk_result(VkResult r) {
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "out of host memory";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
    case VK_ERROR_INITIALIZATION_FAILED: return "initialization failed";
    case VK_ERROR_DEVICE_LOST: return "device lost";
    case VK_ERROR_MEMORY_MAP_FAILED: return "memory map failed";
    case VK_ERROR_LAYER_NOT_PRESENT: return "layer not present";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "extension not present";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "feature not present";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "incompatible driver (no Vulkan ICD installed?)";
    case VK_ERROR_TOO_MANY_OBJECTS: return "too many objects";
    case VK_ERROR_FRAGMENTED_POOL: return "fragmented pool";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "out of pool memory";
    case VK_ERROR_INVALID_SHADER_NV: return "invalid shader";
    case VK_TIMEOUT: return "timed out";
    default: return "error";
    }
}

static int fail(char *msg, int n, VkResult r, const char *what) {
    snprintf(msg, n, "%s: %s (VkResult %d)", what, vk_result(r), (int)r);
    return -1;
}
#define FAIL(r, what) fail(msg, n, r, what)

static int do_init(const char *path, char *msg, int n) {
    lib = open_lib(path);
    if (!lib && path) {
        snprintf(msg, n, "no Vulkan loader at %s", path);
        return -1;
    }
    if (!lib) {
        snprintf(msg, n, "no Vulkan loader (libvulkan.so.1, vulkan-1.dll or libvulkan.1.dylib) found");
        return -1;
    }
    PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)lib_sym(lib, "vkGetInstanceProcAddr");
    if (!gipa) {
        snprintf(msg, n, "the Vulkan loader has no vkGetInstanceProcAddr");
        return -1;
    }
    PFN_vkEnumerateInstanceVersion eiv = (PFN_vkEnumerateInstanceVersion)gipa(NULL, "vkEnumerateInstanceVersion");
    if (eiv) eiv(&api_version);
    if (api_version > VK_API_VERSION_1_3) api_version = VK_API_VERSION_1_3;
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance");
    PFN_vkEnumerateInstanceExtensionProperties eie =
        (PFN_vkEnumerateInstanceExtensionProperties)gipa(NULL, "vkEnumerateInstanceExtensionProperties");
    if (!create || !eie) {
        snprintf(msg, n, "the Vulkan loader lacks vkCreateInstance");
        return -1;
    }
    // MoltenVK devices are listed only when the portability extension is on.
    const char *exts[1];
    uint32_t next = 0, count = 0;
    VkInstanceCreateFlags flags = 0;
    if (eie(NULL, &count, NULL) == VK_SUCCESS && count > 0) {
        VkExtensionProperties *props = calloc(count, sizeof *props);
        if (props && eie(NULL, &count, props) == VK_SUCCESS) {
            for (uint32_t i = 0; i < count; i++) {
                if (strcmp(props[i].extensionName, "VK_KHR_portability_enumeration") == 0) {
                    exts[next++] = "VK_KHR_portability_enumeration";
                    flags |= 0x00000001;  // VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR
                }
            }
        }
        free(props);
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "inference-runtime",
                             .apiVersion = api_version};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .flags = flags,
                               .pApplicationInfo = &app, .enabledExtensionCount = next, .ppEnabledExtensionNames = exts};
    VkResult r = create(&ci, NULL, &instance);
    if (r != VK_SUCCESS) return FAIL(r, "vkCreateInstance");
#define IR_VK_LOAD(f) p_##f = (PFN_##f)gipa(instance, #f);
    IR_VK_FUNCS(IR_VK_LOAD)
    // Vulkan 1.0 drivers lack the *2 queries; everything else is required.
#define IR_VK_CHECK(f)                                                                              \
    if (!p_##f && strcmp(#f, "vkGetPhysicalDeviceProperties2") && strcmp(#f, "vkGetPhysicalDeviceFeatures2") && \
        strcmp(#f, "vkGetPhysicalDeviceMemoryProperties2")) {                                       \
        snprintf(msg, n, "the Vulkan loader lacks %s", #f);                                         \
        return -1;                                                                                  \
    }
    IR_VK_FUNCS(IR_VK_CHECK)
    if (api_version < VK_API_VERSION_1_1)
        p_vkGetPhysicalDeviceProperties2 = NULL, p_vkGetPhysicalDeviceFeatures2 = NULL,
        p_vkGetPhysicalDeviceMemoryProperties2 = NULL;
    r = p_vkEnumeratePhysicalDevices(instance, &nphys, NULL);
    if (r != VK_SUCCESS) return FAIL(r, "vkEnumeratePhysicalDevices");
    if (nphys > 0) {
        phys = calloc(nphys, sizeof *phys);
        if (!phys) return FAIL(VK_ERROR_OUT_OF_HOST_MEMORY, "listing devices");
        r = p_vkEnumeratePhysicalDevices(instance, &nphys, phys);
        if (r != VK_SUCCESS && r != VK_INCOMPLETE) return FAIL(r, "vkEnumeratePhysicalDevices");
    }
    return 0;
}

int ir_vk_init(const char *path, char *msg, int n) {
    if (init_rc == 1) init_rc = do_init(path, init_msg, sizeof init_msg);
    snprintf(msg, n, "%s", init_msg);
    return init_rc;
}

int ir_vk_device_count(void) { return init_rc == 0 ? (int)nphys : 0; }

static int find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

int ir_vk_device_info(int i, ir_vk_info *out) {
    if (init_rc != 0 || i < 0 || (uint32_t)i >= nphys) return -1;
    memset(out, 0, sizeof *out);
    VkPhysicalDevice pd = phys[i];
    VkPhysicalDeviceProperties p;
    p_vkGetPhysicalDeviceProperties(pd, &p);
    snprintf(out->name, sizeof out->name, "%s", p.deviceName);
    out->vendor_id = p.vendorID;
    out->device_id = p.deviceID;
    out->type = p.deviceType;
    out->api_version = p.apiVersion;
    out->min_align = (uint32_t)p.limits.minStorageBufferOffsetAlignment;
    out->max_range = p.limits.maxStorageBufferRange;
    for (int k = 0; k < 3; k++) out->max_groups[k] = p.limits.maxComputeWorkGroupCount[k];
    out->max_push = p.limits.maxPushConstantsSize;
    uint32_t dev_api = p.apiVersion < api_version ? p.apiVersion : api_version;
    if (p_vkGetPhysicalDeviceProperties2 && dev_api >= VK_API_VERSION_1_1) {
        VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
        VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
        if (dev_api >= VK_API_VERSION_1_2) sub.pNext = &drv;
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
        p_vkGetPhysicalDeviceProperties2(pd, &p2);
        out->subgroup = sub.subgroupSize;
        out->subgroup_arith = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                              (sub.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
        if (dev_api >= VK_API_VERSION_1_2) {
            if (drv.driverInfo[0])
                snprintf(out->driver, sizeof out->driver, "%.120s %.120s", drv.driverName, drv.driverInfo);
            else
                snprintf(out->driver, sizeof out->driver, "%s", drv.driverName);
        }
    }
    if (p_vkGetPhysicalDeviceFeatures2 && dev_api >= VK_API_VERSION_1_2) {
        VkPhysicalDeviceShaderIntegerDotProductFeatures dot = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
        VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
        if (dev_api >= VK_API_VERSION_1_3) f16.pNext = &dot;
        VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f16};
        p_vkGetPhysicalDeviceFeatures2(pd, &f2);
        out->fp16 = f16.shaderFloat16;
        out->int8_dot = dot.shaderIntegerDotProduct;
    }
    VkPhysicalDeviceMemoryProperties mp;
    p_vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
        if (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) out->vram += mp.memoryHeaps[h].size;
    out->uma = find_type(&mp, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) >= 0;
    return 0;
}

int64_t ir_vk_device_budget(int i) {
    if (init_rc != 0 || i < 0 || (uint32_t)i >= nphys || !p_vkGetPhysicalDeviceMemoryProperties2) return -1;
    VkPhysicalDeviceProperties p;
    p_vkGetPhysicalDeviceProperties(phys[i], &p);
    if (p.apiVersion < VK_API_VERSION_1_1) return -1;
    uint32_t count = 0;
    int has = 0;
    if (p_vkEnumerateDeviceExtensionProperties(phys[i], NULL, &count, NULL) == VK_SUCCESS && count > 0) {
        VkExtensionProperties *props = calloc(count, sizeof *props);
        if (props && p_vkEnumerateDeviceExtensionProperties(phys[i], NULL, &count, props) == VK_SUCCESS)
            for (uint32_t e = 0; e < count; e++) has |= strcmp(props[e].extensionName, "VK_EXT_memory_budget") == 0;
        free(props);
    }
    if (!has) return -1;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
    p_vkGetPhysicalDeviceMemoryProperties2(phys[i], &mp);
    int64_t free_bytes = 0;
    for (uint32_t h = 0; h < mp.memoryProperties.memoryHeapCount; h++)
        if ((mp.memoryProperties.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && b.heapBudget[h] > b.heapUsage[h])
            free_bytes += (int64_t)(b.heapBudget[h] - b.heapUsage[h]);
    return free_bytes;
}

struct ir_vk_ctx {
    VkPhysicalDevice pd;
    VkPhysicalDeviceMemoryProperties mp;
    VkDevice dev;
    VkQueue queue;
    uint32_t family;
    int map_device;  // device buffers live in host-visible memory and are mapped
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipeline *pipes;
    int npipes;
    VkCommandPool tpool;  // transfers
    VkCommandBuffer tcmd;
    VkFence tfence;
};

struct ir_vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    void *map;
    uint64_t size;
};

struct ir_vk_stream {
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool dpool;
    int dcap;
};

void ir_vk_close(ir_vk_ctx *c) {
    if (!c) return;
    if (c->dev) {
        p_vkDeviceWaitIdle(c->dev);
        for (int i = 0; i < c->npipes; i++) p_vkDestroyPipeline(c->dev, c->pipes[i], NULL);
        if (c->layout) p_vkDestroyPipelineLayout(c->dev, c->layout, NULL);
        if (c->dsl) p_vkDestroyDescriptorSetLayout(c->dev, c->dsl, NULL);
        if (c->tfence) p_vkDestroyFence(c->dev, c->tfence, NULL);
        if (c->tpool) p_vkDestroyCommandPool(c->dev, c->tpool, NULL);
        p_vkDestroyDevice(c->dev, NULL);
    }
    free(c->pipes);
    free(c);
}

static int new_cmd(VkDevice dev, uint32_t family, VkCommandPool *pool, VkCommandBuffer *cmd, VkFence *fence,
                   char *msg, int n) {
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = family};
    VkResult r = p_vkCreateCommandPool(dev, &pci, NULL, pool);
    if (r != VK_SUCCESS) return FAIL(r, "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = *pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    r = p_vkAllocateCommandBuffers(dev, &ai, cmd);
    if (r != VK_SUCCESS) return FAIL(r, "vkAllocateCommandBuffers");
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = p_vkCreateFence(dev, &fci, NULL, fence);
    if (r != VK_SUCCESS) return FAIL(r, "vkCreateFence");
    return 0;
}



ir_vk_ctx *ir_vk_open(int i, int staging, char *msg, int n) {
    if (init_rc != 0 || i < 0 || (uint32_t)i >= nphys) {
        snprintf(msg, n, "no Vulkan device %d", i);
        return NULL;
    }
    ir_vk_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(msg, n, "out of host memory");
        return NULL;
    }
    c->pd = phys[i];
    p_vkGetPhysicalDeviceMemoryProperties(c->pd, &c->mp);
    uint32_t nq = 0;
    p_vkGetPhysicalDeviceQueueFamilyProperties(c->pd, &nq, NULL);
    VkQueueFamilyProperties qp[64];
    if (nq > 64) nq = 64;
    p_vkGetPhysicalDeviceQueueFamilyProperties(c->pd, &nq, qp);
    int family = -1;
    for (uint32_t q = 0; q < nq && family < 0; q++)
        if (qp[q].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)q;
    if (family < 0) {
        snprintf(msg, n, "the device has no compute queue");
        free(c);
        return NULL;
    }
    c->family = (uint32_t)family;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = (uint32_t)family, .queueCount = 1, .pQueuePriorities = &prio};
    // MoltenVK requires the portability subset to be enabled when offered.
    const char *exts[1];
    uint32_t next = 0, count = 0;
    if (p_vkEnumerateDeviceExtensionProperties(c->pd, NULL, &count, NULL) == VK_SUCCESS && count > 0) {
        VkExtensionProperties *props = calloc(count, sizeof *props);
        if (props && p_vkEnumerateDeviceExtensionProperties(c->pd, NULL, &count, props) == VK_SUCCESS)
            for (uint32_t e = 0; e < count; e++)
                if (strcmp(props[e].extensionName, "VK_KHR_portability_subset") == 0) exts[next++] = "VK_KHR_portability_subset";
        free(props);
    }
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci, .enabledExtensionCount = next, .ppEnabledExtensionNames = exts};
    VkResult r = p_vkCreateDevice(c->pd, &dci, NULL, &c->dev);
    if (r != VK_SUCCESS) {
        FAIL(r, "vkCreateDevice");
        free(c);
        return NULL;
    }
    p_vkGetDeviceQueue(c->dev, (uint32_t)family, 0, &c->queue);
    VkPhysicalDeviceProperties p;
    p_vkGetPhysicalDeviceProperties(c->pd, &p);
    // Mapping device memory is only cheap where it is the host's own memory.
    c->map_device = !staging && (p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                                 p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) &&
                    find_type(&c->mp, ~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) >= 0;
    VkDescriptorSetLayoutBinding b[IR_VK_BINDINGS];
    for (int k = 0; k < IR_VK_BINDINGS; k++)
        b[k] = (VkDescriptorSetLayoutBinding){.binding = (uint32_t)k, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = IR_VK_BINDINGS, .pBindings = b};
    r = p_vkCreateDescriptorSetLayout(c->dev, &lci, NULL, &c->dsl);
    if (r != VK_SUCCESS) {
        FAIL(r, "vkCreateDescriptorSetLayout");
        ir_vk_close(c);
        return NULL;
    }
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = IR_VK_PUSH_WORDS * 4};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                       .pSetLayouts = &c->dsl, .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr};
    r = p_vkCreatePipelineLayout(c->dev, &plci, NULL, &c->layout);
    if (r != VK_SUCCESS) {
        FAIL(r, "vkCreatePipelineLayout");
        ir_vk_close(c);
        return NULL;
    }
    if (new_cmd(c->dev, (uint32_t)family, &c->tpool, &c->tcmd, &c->tfence, msg, n) != 0) {
        ir_vk_close(c);
        return NULL;
    }
    return c;
}

int ir_vk_pipeline(ir_vk_ctx *c, const void *code, size_t bytes, char *msg, int n) {
    VkShaderModuleCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = bytes,
                                    .pCode = (const uint32_t *)code};
    VkShaderModule mod;
    VkResult r = p_vkCreateShaderModule(c->dev, &sci, NULL, &mod);
    if (r != VK_SUCCESS) return FAIL(r, "vkCreateShaderModule");
    VkComputePipelineCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = mod, .pName = "main"},
        .layout = c->layout};
    VkPipeline pipe;
    r = p_vkCreateComputePipelines(c->dev, VK_NULL_HANDLE, 1, &pci, NULL, &pipe);
    p_vkDestroyShaderModule(c->dev, mod, NULL);
    if (r != VK_SUCCESS) return FAIL(r, "vkCreateComputePipelines");
    VkPipeline *grown = realloc(c->pipes, (size_t)(c->npipes + 1) * sizeof *grown);
    if (!grown) {
        p_vkDestroyPipeline(c->dev, pipe, NULL);
        return FAIL(VK_ERROR_OUT_OF_HOST_MEMORY, "pipeline table");
    }
    c->pipes = grown;
    c->pipes[c->npipes] = pipe;
    return c->npipes++;
}

ir_vk_buf *ir_vk_buf_new(ir_vk_ctx *c, uint64_t size, int host, char *msg, int n) {
    ir_vk_buf *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(msg, n, "out of host memory");
        return NULL;
    }
    b->size = size;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = p_vkCreateBuffer(c->dev, &bci, NULL, &b->buf);
    if (r != VK_SUCCESS) {
        FAIL(r, "vkCreateBuffer");
        free(b);
        return NULL;
    }
    VkMemoryRequirements req;
    p_vkGetBufferMemoryRequirements(c->dev, b->buf, &req);
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type, mapped;
    if (host) {
        type = find_type(&c->mp, req.memoryTypeBits, hv | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (type < 0) type = find_type(&c->mp, req.memoryTypeBits, hv);
        mapped = 1;
    } else if (c->map_device) {
        type = find_type(&c->mp, req.memoryTypeBits, hv | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        mapped = 1;
    } else {
        type = find_type(&c->mp, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type < 0) type = find_type(&c->mp, req.memoryTypeBits, 0);
        mapped = 0;
    }
    if (type < 0) {
        snprintf(msg, n, "no suitable memory type for a %s buffer", host ? "host" : "device");
        p_vkDestroyBuffer(c->dev, b->buf, NULL);
        free(b);
        return NULL;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                .memoryTypeIndex = (uint32_t)type};
    r = p_vkAllocateMemory(c->dev, &mai, NULL, &b->mem);
    if (r == VK_SUCCESS) r = p_vkBindBufferMemory(c->dev, b->buf, b->mem, 0);
    if (r == VK_SUCCESS && mapped) r = p_vkMapMemory(c->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map);
    if (r != VK_SUCCESS) {
        FAIL(r, "allocating buffer memory");
        ir_vk_buf_free(c, b);
        return NULL;
    }
    return b;
}

void ir_vk_buf_free(ir_vk_ctx *c, ir_vk_buf *b) {
    if (!b) return;
    if (b->buf) p_vkDestroyBuffer(c->dev, b->buf, NULL);
    if (b->mem) p_vkFreeMemory(c->dev, b->mem, NULL);  // unmaps too
    free(b);
}

void *ir_vk_buf_map(ir_vk_buf *b) { return b->map; }

// to_host makes the device's writes visible to the host after the fence.
static void to_host(VkCommandBuffer cmd) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    p_vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

static int submit_wait(ir_vk_ctx *c, VkCommandBuffer cmd, VkFence fence, char *msg, int n) {
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    VkResult r = p_vkQueueSubmit(c->queue, 1, &si, fence);
    if (r != VK_SUCCESS) return FAIL(r, "vkQueueSubmit");
    r = p_vkWaitForFences(c->dev, 1, &fence, VK_TRUE, 300ull * 1000 * 1000 * 1000);
    VkResult rr = p_vkResetFences(c->dev, 1, &fence);
    if (r != VK_SUCCESS) return FAIL(r, "waiting for the device");
    if (rr != VK_SUCCESS) return FAIL(rr, "vkResetFences");
    return 0;
}

int ir_vk_transfer(ir_vk_ctx *c, ir_vk_buf *src, uint64_t soff, ir_vk_buf *dst, uint64_t doff, uint64_t size, char *msg,
                   int n) {
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VkResult r = p_vkBeginCommandBuffer(c->tcmd, &bi);
    if (r != VK_SUCCESS) return FAIL(r, "vkBeginCommandBuffer");
    if (src) {
        VkBufferCopy region = {.srcOffset = soff, .dstOffset = doff, .size = size};
        p_vkCmdCopyBuffer(c->tcmd, src->buf, dst->buf, 1, &region);
    } else {
        p_vkCmdFillBuffer(c->tcmd, dst->buf, doff, size, 0);
    }
    to_host(c->tcmd);
    r = p_vkEndCommandBuffer(c->tcmd);
    if (r != VK_SUCCESS) return FAIL(r, "vkEndCommandBuffer");
    return submit_wait(c, c->tcmd, c->tfence, msg, n);
}

ir_vk_stream *ir_vk_stream_new(ir_vk_ctx *c, char *msg, int n) {
    ir_vk_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, n, "out of host memory");
        return NULL;
    }
    if (new_cmd(c->dev, c->family, &s->pool, &s->cmd, &s->fence, msg, n) != 0) {
        ir_vk_stream_free(c, s);
        return NULL;
    }
    return s;
}

void ir_vk_stream_free(ir_vk_ctx *c, ir_vk_stream *s) {
    if (!s) return;
    if (s->dpool) p_vkDestroyDescriptorPool(c->dev, s->dpool, NULL);
    if (s->fence) p_vkDestroyFence(c->dev, s->fence, NULL);
    if (s->pool) p_vkDestroyCommandPool(c->dev, s->pool, NULL);
    free(s);
}

int ir_vk_run(ir_vk_ctx *c, ir_vk_stream *s, const ir_vk_cmd *cmds, int ncmds, char *msg, int n) {
    int nd = 0;
    for (int i = 0; i < ncmds; i++) {
        if (cmds[i].kind == 0) {
            if (cmds[i].pipeline < 0 || cmds[i].pipeline >= c->npipes) {
                snprintf(msg, n, "command %d: no pipeline %d", i, cmds[i].pipeline);
                return -1;
            }
            nd++;
        }
    }
    VkResult r;
    if (nd > s->dcap) {
        if (s->dpool) p_vkDestroyDescriptorPool(c->dev, s->dpool, NULL);
        s->dpool = VK_NULL_HANDLE;
        s->dcap = 0;
        int cap = 64;
        while (cap < nd) cap *= 2;
        VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = (uint32_t)cap * IR_VK_BINDINGS};
        VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = (uint32_t)cap,
                                           .poolSizeCount = 1, .pPoolSizes = &ps};
        r = p_vkCreateDescriptorPool(c->dev, &dpci, NULL, &s->dpool);
        if (r != VK_SUCCESS) return FAIL(r, "vkCreateDescriptorPool");
        s->dcap = cap;
    } else if (s->dpool) {
        r = p_vkResetDescriptorPool(c->dev, s->dpool, 0);
        if (r != VK_SUCCESS) return FAIL(r, "vkResetDescriptorPool");
    }
    VkDescriptorSet *sets = NULL;
    VkDescriptorSetLayout *layouts = NULL;
    VkWriteDescriptorSet *writes = NULL;
    VkDescriptorBufferInfo *infos = NULL;
    int rc = 0;
    if (nd > 0) {
        sets = calloc((size_t)nd, sizeof *sets);
        layouts = calloc((size_t)nd, sizeof *layouts);
        writes = calloc((size_t)nd * IR_VK_BINDINGS, sizeof *writes);
        infos = calloc((size_t)nd * IR_VK_BINDINGS, sizeof *infos);
        if (!sets || !layouts || !writes || !infos) {
            rc = FAIL(VK_ERROR_OUT_OF_HOST_MEMORY, "descriptor sets");
            goto out;
        }
        for (int i = 0; i < nd; i++) layouts[i] = c->dsl;
        VkDescriptorSetAllocateInfo dai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                           .descriptorPool = s->dpool, .descriptorSetCount = (uint32_t)nd,
                                           .pSetLayouts = layouts};
        r = p_vkAllocateDescriptorSets(c->dev, &dai, sets);
        if (r != VK_SUCCESS) {
            rc = FAIL(r, "vkAllocateDescriptorSets");
            goto out;
        }
        int d = 0;
        for (int i = 0; i < ncmds; i++) {
            if (cmds[i].kind != 0) continue;
            for (int k = 0; k < IR_VK_BINDINGS; k++) {
                int w = d * IR_VK_BINDINGS + k;
                infos[w] = (VkDescriptorBufferInfo){.buffer = cmds[i].bufs[k]->buf, .offset = cmds[i].offs[k],
                                                    .range = cmds[i].ranges[k]};
                writes[w] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = sets[d],
                                                   .dstBinding = (uint32_t)k, .descriptorCount = 1,
                                                   .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                   .pBufferInfo = &infos[w]};
            }
            d++;
        }
        p_vkUpdateDescriptorSets(c->dev, (uint32_t)nd * IR_VK_BINDINGS, writes, 0, NULL);
    }
    r = p_vkResetCommandBuffer(s->cmd, 0);
    if (r != VK_SUCCESS) {
        rc = FAIL(r, "vkResetCommandBuffer");
        goto out;
    }
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    r = p_vkBeginCommandBuffer(s->cmd, &bi);
    if (r != VK_SUCCESS) {
        rc = FAIL(r, "vkBeginCommandBuffer");
        goto out;
    }
    int d = 0, bound = -1;
    for (int i = 0; i < ncmds; i++) {
        const ir_vk_cmd *cm = &cmds[i];
        switch (cm->kind) {
        case 0:
            if (cm->pipeline != bound) {
                p_vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipes[cm->pipeline]);
                bound = cm->pipeline;
            }
            p_vkCmdBindDescriptorSets(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout, 0, 1, &sets[d++], 0, NULL);
            p_vkCmdPushConstants(s->cmd, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, IR_VK_PUSH_WORDS * 4, cm->push);
            p_vkCmdDispatch(s->cmd, cm->groups[0], cm->groups[1], cm->groups[2]);
            break;
        case 1: {
            VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                  .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                                  .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                                   VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
            VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
            p_vkCmdPipelineBarrier(s->cmd, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
            break;
        }
        case 2: {
            VkBufferCopy region = {.srcOffset = cm->offs[0], .dstOffset = cm->offs[1], .size = cm->ranges[0]};
            p_vkCmdCopyBuffer(s->cmd, cm->bufs[0]->buf, cm->bufs[1]->buf, 1, &region);
            break;
        }
        }
    }
    to_host(s->cmd);
    r = p_vkEndCommandBuffer(s->cmd);
    if (r != VK_SUCCESS) {
        rc = FAIL(r, "vkEndCommandBuffer");
        goto out;
    }
    rc = submit_wait(c, s->cmd, s->fence, msg, n);
out:
    free(sets);
    free(layouts);
    free(writes);
    free(infos);
    return rc;
}

#endif
