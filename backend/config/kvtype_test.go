package config

import "testing"

// TestKVTypeSetting: the KV cache types are the engine's; "" keeps f32.
func TestKVTypeSetting(t *testing.T) {
	s := Defaults()
	for _, kv := range append([]string{""}, KVTypes...) {
		s.KVType = kv
		if err := s.Validate(); err != nil {
			t.Errorf("%q: %v", kv, err)
		}
	}
	s.KVType = "q5_1"
	if err := s.Validate(); err == nil {
		t.Error("q5_1 was taken")
	}
}
