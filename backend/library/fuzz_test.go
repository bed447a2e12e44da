package library

import (
	"path/filepath"
	"strings"
	"testing"
)

func FuzzBlobName(f *testing.F) {
	for _, s := range []string{strings.Repeat("a", 64), "../" + strings.Repeat("a", 61), strings.Repeat("F", 64), "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		name, err := BlobName(d)
		if err != nil {
			return
		}
		if !filepath.IsLocal(name) || filepath.Base(name) != name || len(name) != 71 || strings.ToLower(name) != name {
			t.Fatalf("BlobName(%q) = %q", d, name)
		}
		if back, err := DigestFromBlobName(name); err != nil || back != d {
			t.Fatalf("round trip of %q: %q, %v", d, back, err)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"org/model:Q4_K_M", "../x", "a//b", "a/./b", "x\x00", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) ||
			len(name) > maxNameLen || !filepath.IsLocal(name) {
			t.Fatalf("ValidateName accepted %q", name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ValidateName accepted %q", name)
			}
		}
	})
}

func FuzzNameFromFile(f *testing.F) {
	for _, s := range []string{"My Model.gguf", "../../x.gguf", "...", "", "a\x00b.GGUF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if n := NameFromFile(p); ValidateName(n) != nil {
			t.Fatalf("NameFromFile(%q) = %q, not a valid name", p, n)
		}
	})
}
