package library

import (
	"fmt"
	"path/filepath"
	"strings"
)

// maxNameLen bounds model names (bytes).
const maxNameLen = 200

// ValidateName checks a model name or alias. Names look like
// "org/model:quant": letters, digits and . _ - + @ / :, starting with a
// letter or digit, without empty or dot-only path segments.
func ValidateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: %q must be 1 to %d characters", ErrBadName, name, maxNameLen)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i > 0 {
			ok = ok || strings.ContainsRune("._-+@/:", r)
		}
		if !ok {
			return fmt.Errorf("%w: %q (use letters, digits and . _ - + @ / :, starting with a letter or digit)", ErrBadName, name)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || strings.Trim(seg, ".") == "" {
			return fmt.Errorf("%w: %q has an empty or dot-only part", ErrBadName, name)
		}
	}
	return nil
}

// NameFromFile derives a model name from a file name: the base name without
// the .gguf extension, with characters a name may not hold replaced by '-'.
func NameFromFile(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); strings.EqualFold(ext, ".gguf") {
		base = base[:len(base)-len(ext)]
	}
	var sb strings.Builder
	for _, r := range base {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+@", r) {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('-')
		}
	}
	name := strings.TrimLeft(sb.String(), "._-+@")
	if len(name) > maxNameLen-4 { // leave room for a "-NN" suffix
		name = name[:maxNameLen-4]
	}
	if name == "" {
		name = "model"
	}
	return name
}

// quantTags are the quantization names found in GGUF file names, longest
// first within each family so that Q4_K_M wins over Q4_K.
var quantTags = []string{
	"IQ2_XXS", "IQ3_XXS", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8",
	"Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M",
	"IQ1_S", "IQ1_M", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS",
	"TQ1_0", "TQ2_0", "MXFP4",
	"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
	"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "BF16", "FP16", "FP32", "F16", "F32",
}

// QuantFromFileName finds the quantization tag in a GGUF file name
// ("Llama-3.2-1B-Instruct-Q4_K_M.gguf" → "Q4_K_M"), upper case, with FP16
// and FP32 spelled F16 and F32; "" when there is none.
func QuantFromFileName(name string) string {
	up := strings.ToUpper(filepath.Base(name))
	for _, tag := range quantTags {
		if HasTag(up, tag) {
			switch tag {
			case "FP16":
				return "F16"
			case "FP32":
				return "F32"
			}
			return tag
		}
	}
	return ""
}

// HasTag reports whether tag occurs in name (compared in upper case) as a
// whole word: not preceded or followed by a letter or digit, so that Q4_K
// does not match inside IQ4_K or Q4_K_M.
func HasTag(name, tag string) bool {
	up, tag := strings.ToUpper(name), strings.ToUpper(tag)
	for i := 0; ; {
		j := strings.Index(up[i:], tag)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(tag)
		before := start == 0 || !isAlnum(up[start-1])
		after := end == len(up) || !isAlnum(up[end]) && up[end] != '_'
		if before && after {
			return true
		}
		i = start + 1
	}
}

func isAlnum(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}
