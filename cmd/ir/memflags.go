package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/config"
	"inferenceruntime/inference/compute"
)

// The memory flags of run, serve (and bench, which has its own --kv-type):
// the KV cache type and Ollama's use_mmap / use_mlock.
var (
	kvTypeFlag            string
	noMmapFlag, mlockFlag bool
)

// kvTypeEnv are the variables that choose the KV cache type when no flag
// does; Ollama's name is honoured so that its setups carry over.
var kvTypeEnv = []string{"IR_KV_CACHE_TYPE", "OLLAMA_KV_CACHE_TYPE"}

func init() {
	for _, c := range []*cobra.Command{runCmd, serveCmd} {
		c.Flags().StringVar(&kvTypeFlag, "kv-type", "", "KV cache type: "+strings.Join(compute.KVTypes, ", ")+
			" (q8_0 takes about half of f16's memory, q4_0 a quarter; heads must be a multiple of 32 wide; default: $"+
			kvTypeEnv[0]+", $"+kvTypeEnv[1]+", else the settings', f32)")
	}
	for _, c := range []*cobra.Command{runCmd, serveCmd, benchCmd} {
		c.Flags().BoolVar(&noMmapFlag, "no-mmap", false, "read the model into memory instead of mapping it (Ollama's use_mmap=false)")
		c.Flags().BoolVar(&mlockFlag, "mlock", false, "lock the model's pages in RAM (Ollama's use_mlock; needs RLIMIT_MEMLOCK, see ulimit -l)")
	}
}

// chooseKVType is the KV cache type of a run: the flag, else the
// environment, else the settings.
func chooseKVType(s config.Settings) (string, error) {
	kv := kvTypeFlag
	for _, e := range kvTypeEnv {
		if kv == "" {
			kv = os.Getenv(e)
		}
	}
	if kv == "" {
		kv = s.KVType
	}
	if _, err := compute.ParseKVType(kv); err != nil {
		return "", fmt.Errorf("--kv-type: %w", err)
	}
	return strings.ToLower(kv), nil
}
