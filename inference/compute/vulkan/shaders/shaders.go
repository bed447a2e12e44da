// Package shaders holds the compute shaders of the Vulkan backend: GLSL
// sources (*.comp, *.glsl) and the SPIR-V that glslc makes of them, committed
// so that building needs no shader compiler. `make shaders` regenerates the
// SPIR-V (go run ./inference/compute/vulkan/shaders/gen); a test fails when
// it is stale.
package shaders

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

//go:embed *.spv
var spirv embed.FS

// Variant is one SPIR-V module: a source compiled with some defines.
type Variant struct {
	Name    string // the module, Name.spv
	Source  string
	Defines []string
	Vulkan  string // the Vulkan version the module needs: 1.0, or 1.1 for subgroup operations
}

// weightTypes are the GGUF types that MulMat and GetRows read, with the
// define that selects each one's decoding in quant.glsl.
var weightTypes = []string{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k",
	"iq4_nl", "iq4_xs"}

// Variants lists every module, in a fixed order.
var Variants = func() []Variant {
	var vs []Variant
	for _, op := range []string{"mul_mat", "get_rows"} {
		for _, t := range weightTypes {
			vs = append(vs, Variant{Name: op + "_" + t, Source: op + ".comp", Defines: []string{"W_" + strings.ToUpper(t)}, Vulkan: "1.0"})
		}
	}
	for _, t := range weightTypes {
		w := "W_" + strings.ToUpper(t)
		vs = append(vs,
			Variant{Name: "mul_mat_sg_" + t, Source: "mul_mat.comp", Defines: []string{w, "SUBGROUPS"}, Vulkan: "1.1"},
			Variant{Name: "mul_mat_id_" + t, Source: "mul_mat.comp", Defines: []string{w, "ID"}, Vulkan: "1.0"},
			Variant{Name: "mul_mat_id_sg_" + t, Source: "mul_mat.comp", Defines: []string{w, "ID", "SUBGROUPS"}, Vulkan: "1.1"},
			Variant{Name: "mul_mm_" + t, Source: "mul_mm.comp", Defines: []string{w}, Vulkan: "1.0"})
	}
	for _, s := range []string{"elementwise", "norm", "softmax", "rope", "kv_write", "attention", "copy", "experts"} {
		vs = append(vs, Variant{Name: s, Source: s + ".comp", Vulkan: "1.0"})
	}
	return vs
}()

// SPIRV returns the committed module of a variant.
func SPIRV(name string) ([]byte, error) {
	b, err := spirv.ReadFile(name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no module %s: %w", name, err)
	}
	return b, nil
}

// GlslcArgs are the arguments that compile v from the sources in dir to out.
func GlslcArgs(v Variant, dir, out string) []string {
	args := []string{"--target-env=vulkan" + v.Vulkan, "-O", "-fshader-stage=compute", "-I", dir}
	for _, d := range v.Defines {
		args = append(args, "-D"+d)
	}
	return append(args, "-o", out, filepath.Join(dir, v.Source))
}

// SourceHash fingerprints what a variant is compiled from: its source, every
// include file of dir and its defines.
func SourceHash(v Variant, dir string) (string, error) {
	h := sha256.New()
	incs, err := filepath.Glob(filepath.Join(dir, "*.glsl"))
	if err != nil {
		return "", err
	}
	sort.Strings(incs)
	for _, f := range append([]string{filepath.Join(dir, v.Source)}, incs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "defines %q vulkan %s\n", v.Defines, v.Vulkan)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// StampFile records the glslc version and the source hash of every module
// made by the last `make shaders`.
const StampFile = "spirv.stamp"

// Stamp is the content of StampFile for the sources in dir.
func Stamp(dir, glslcVersion string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "glslc %s\n", glslcVersion)
	for _, v := range Variants {
		sum, err := SourceHash(v, dir)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s %s\n", v.Name, sum)
	}
	return b.String(), nil
}

// Compile runs glslc on every variant's source in dir, writing Name.spv to
// out, a few at a time.
func Compile(glslc, dir, out string) error {
	errs := make([]error, len(Variants))
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, v := range Variants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cmd := exec.Command(glslc, GlslcArgs(v, dir, filepath.Join(out, v.Name+".spv"))...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", v.Name, err, strings.TrimSpace(string(msg)))
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// GlslcVersion returns the first line of `glslc --version`, which names the
// shaderc release: two releases may compile one source differently.
func GlslcVersion(glslc string) (string, error) {
	out, err := exec.Command(glslc, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("shaders: %s --version: %w", glslc, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}
