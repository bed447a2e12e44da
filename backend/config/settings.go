package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"inferenceruntime/inference/compute"
)

// DefaultAPIPort is where the local HTTP API listens by default. It is one
// above Ollama's 11434 so that both can run side by side.
const DefaultAPIPort = 11435

// DefaultContextLength is the context window used when a model does not ask
// for less.
const DefaultContextLength = 4096

// KVTypes are the KV cache types a user may choose (compute.KVTypes): the
// quantized ones save memory at long contexts for a little precision.
var KVTypes = compute.KVTypes

// Themes the frontend understands; "system" follows prefers-color-scheme.
var Themes = []string{"system", "light", "dark"}

// Backends a user may choose; "auto" picks the fastest available.
var Backends = []string{"auto", "cpu", "cuda", "vulkan", "metal"}

// Settings is everything the user can change in the Settings screen. The
// JSON form is the settings file; fields missing from the file keep their
// defaults, so older files stay readable.
type Settings struct {
	API           APISettings `json:"api"`
	Threads       int         `json:"threads"`       // CPU threads for inference; 0 = choose automatically
	Parallel      int         `json:"parallel"`      // generations per model at once, batched; 0 = choose from memory
	Backend       string      `json:"backend"`       // one of Backends
	Device        string      `json:"device"`        // the backend's device as `ir devices` names it; "" = its first
	GPULayers     string      `json:"gpuLayers"`     // layers on the GPU: "auto" (or ""), "all" or a number (0: none)
	ContextLength int         `json:"contextLength"` // default context window in tokens
	KVType        string      `json:"kvType"`        // KV cache type, one of KVTypes; "" = f32
	Theme         string      `json:"theme"`         // one of Themes
}

// APISettings configures the local HTTP API (Ollama and OpenAI dialects).
type APISettings struct {
	Enabled        bool     `json:"enabled"`        // off until the user turns it on
	Port           int      `json:"port"`           // loopback port
	AllowedOrigins []string `json:"allowedOrigins"` // extra browser origins allowed to call the API
	APIKey         string   `json:"apiKey"`         // bearer token required when non-empty
}

// Defaults returns the settings of a fresh installation.
func Defaults() Settings {
	return Settings{
		API: APISettings{
			Enabled:        false,
			Port:           DefaultAPIPort,
			AllowedOrigins: []string{},
		},
		Threads:       0,
		Backend:       "auto",
		GPULayers:     "auto",
		ContextLength: DefaultContextLength,
		Theme:         "system",
	}
}

// Validate reports the first setting that is out of range.
func (s Settings) Validate() error {
	switch {
	case s.API.Port < 1 || s.API.Port > 65535:
		return fmt.Errorf("api port %d is not between 1 and 65535", s.API.Port)
	case s.Threads < 0:
		return fmt.Errorf("threads %d is negative", s.Threads)
	case s.Parallel < 0 || s.Parallel > 64:
		return fmt.Errorf("parallel %d is not between 0 (automatic) and 64", s.Parallel)
	case s.ContextLength < 0:
		return fmt.Errorf("context length %d is negative", s.ContextLength)
	case s.KVType != "" && !slices.Contains(KVTypes, s.KVType):
		return fmt.Errorf("KV cache type %q is not one of %v", s.KVType, KVTypes)
	case !slices.Contains(Backends, s.Backend):
		return fmt.Errorf("backend %q is not one of %v", s.Backend, Backends)
	case !validGPULayers(s.GPULayers):
		return fmt.Errorf("GPU layers %q is not auto, all or a number of layers", s.GPULayers)
	case !slices.Contains(Themes, s.Theme):
		return fmt.Errorf("theme %q is not one of %v", s.Theme, Themes)
	}
	for _, o := range s.API.AllowedOrigins {
		if o == "" {
			return errors.New("allowed origins contain an empty entry")
		}
	}
	return nil
}

// validGPULayers accepts what --gpu-layers does: "", "auto", "all" or a
// whole number of layers.
func validGPULayers(s string) bool {
	if s == "" || s == "auto" || s == "all" {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0
}

// LoadSettings reads the settings file in the data directory dir. A missing
// file yields the defaults; a file that is not valid JSON or holds invalid
// values is an error naming the file, so it is never silently overwritten.
func LoadSettings(dir string) (Settings, error) {
	path := SettingsPath(dir)
	s := Defaults()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read settings: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Defaults(), fmt.Errorf("settings file %s is not valid JSON: %w", path, err)
	}
	if s.API.AllowedOrigins == nil {
		s.API.AllowedOrigins = []string{}
	}
	if err := s.Validate(); err != nil {
		return Defaults(), fmt.Errorf("settings file %s: %w", path, err)
	}
	return s, nil
}

// SaveSettings validates s and writes it to the data directory dir
// atomically: readers see either the old file or the new one, never a torn
// write, even if the process dies or the machine loses power mid-way.
func SaveSettings(dir string, s Settings) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if s.API.AllowedOrigins == nil {
		s.API.AllowedOrigins = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if err := WriteFileAtomic(SettingsPath(dir), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// WriteFileAtomic replaces path with data: it writes a temporary file in the
// same directory, flushes it to disk, renames it over path and flushes the
// directory, so a crash leaves either the old or the new content.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(dir)
}
