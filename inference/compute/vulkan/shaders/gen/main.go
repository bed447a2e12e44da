// Command gen compiles the Vulkan backend's shaders with glslc and writes
// the SPIR-V and its stamp next to the sources: `make shaders`.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"inferenceruntime/inference/compute/vulkan/shaders"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "shaders:", err)
		os.Exit(1)
	}
}

func run() error {
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(filepath.Dir(self))
	glslc, err := exec.LookPath("glslc")
	if err != nil {
		return fmt.Errorf("glslc not found (Debian: apt-get install glslc): %w", err)
	}
	version, err := shaders.GlslcVersion(glslc)
	if err != nil {
		return err
	}
	if err := shaders.Compile(glslc, dir, dir); err != nil {
		return err
	}
	stamp, err := shaders.Stamp(dir, version)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, shaders.StampFile), []byte(stamp), 0o644)
}
