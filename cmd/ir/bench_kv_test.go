package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/model/synth"
)

// TestBenchKVTypes: ir bench --kv-type with a list prints one row per
// cache type, the first at ratio 1, with caches that shrink with the type;
// an unknown type in the list is refused before the model is read.
func TestBenchKVTypes(t *testing.T) {
	shape, _ := synth.ShapeByName("tiny-qwen3") // heads 32 wide, as quantized caches need
	p, err := synth.NewPlan(shape, "Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := p.WriteFile(path, 1); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	args := []string{"bench", path, "-t", "1", "-d", "40", "-n", "4", "-r", "2", "--kv-type", "f16,q8_0,q4_0"}
	out, _, err := runExec(t, home, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"f16", "q8_0", "q4_0"} {
		if !strings.Contains(out, "| "+kv+" ") || !strings.Contains(out, "tg4 @ d40") {
			t.Errorf("no %s row of tg4 @ d40 in\n%s", kv, out)
		}
	}
	out, _, err = runExec(t, home, "", append(args, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var res []benchKVResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if len(res) != 3 || res[0].Ratio != 1 || len(res[2].Samples) != 2 || res[2].AvgTS <= 0 {
		t.Fatalf("results %+v", res)
	}
	// Per 32 values f16 takes 64 bytes, q8_0 34 and q4_0 18.
	f16 := res[0].CacheBytes
	for i, per32 := range []int64{64, 34, 18} {
		if got := res[i].CacheBytes; f16 == 0 || got*64 != f16*per32 {
			t.Errorf("%s cache: %d bytes against f16's %d, want %d/64 of it", res[i].KVType, got, f16, per32)
		}
	}
	if _, _, err := runExec(t, home, "", "bench", path, "--kv-type", "f16,q5_1"); err == nil || !strings.Contains(err.Error(), "q5_1") {
		t.Errorf("--kv-type f16,q5_1: %v", err)
	}
}
