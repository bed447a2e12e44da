package main

import (
	"testing"

	"inferenceruntime/backend/config"
)

// TestChooseKVType: the flag wins over the environment (ours, then
// Ollama's), which wins over the settings; an unknown type is an error.
func TestChooseKVType(t *testing.T) {
	defer func(v string) { kvTypeFlag = v }(kvTypeFlag)
	for _, c := range []struct {
		flag, ir, ollama, settings, want string
	}{
		{"", "", "", "", ""},
		{"", "", "", "f16", "f16"},
		{"", "", "Q8_0", "f16", "q8_0"},
		{"", "q4_0", "q8_0", "f16", "q4_0"},
		{"f32", "q4_0", "q8_0", "f16", "f32"},
	} {
		kvTypeFlag = c.flag
		t.Setenv("IR_KV_CACHE_TYPE", c.ir)
		t.Setenv("OLLAMA_KV_CACHE_TYPE", c.ollama)
		got, err := chooseKVType(config.Settings{KVType: c.settings})
		if err != nil || got != c.want {
			t.Errorf("%+v: %q, %v", c, got, err)
		}
	}
	kvTypeFlag = "q5_1"
	if _, err := chooseKVType(config.Settings{}); err == nil {
		t.Error("--kv-type q5_1 was taken")
	}
}
