package shaders

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSPIRVFresh fails when a shader source changed after the SPIR-V was
// made: the stamp records each module's source hash. Where the installed
// glslc is the release that made the stamp, every module is also compiled
// again and must match the committed bytes.
func TestSPIRVFresh(t *testing.T) {
	raw, err := os.ReadFile(StampFile)
	if err != nil {
		t.Fatalf("%v: run make shaders", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	version := strings.TrimPrefix(first, "glslc ")
	want, err := Stamp(".", version)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != want {
		t.Fatalf("the SPIR-V is older than its sources (%s differs): run make shaders", StampFile)
	}
	for _, v := range Variants {
		if _, err := SPIRV(v.Name); err != nil {
			t.Fatalf("%v: run make shaders", err)
		}
	}
	glslc, err := exec.LookPath("glslc")
	if err != nil {
		t.Skip("glslc is not installed (Debian: glslc); checked the source hashes only")
	}
	have, err := GlslcVersion(glslc)
	if err != nil {
		t.Fatal(err)
	}
	if have != version {
		t.Skipf("installed %s, the SPIR-V was made by %s; checked the source hashes only", have, version)
	}
	dir := t.TempDir()
	if err := Compile(glslc, ".", dir); err != nil {
		t.Fatal(err)
	}
	for _, v := range Variants {
		got, err := os.ReadFile(filepath.Join(dir, v.Name+".spv"))
		if err != nil {
			t.Fatal(err)
		}
		committed, _ := SPIRV(v.Name)
		if !bytes.Equal(got, committed) {
			t.Errorf("%s.spv differs from what glslc makes of %s: run make shaders", v.Name, v.Source)
		}
	}
}
