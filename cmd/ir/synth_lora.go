package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model/synth"
	"inferenceruntime/inference/quant"
)

var (
	synthLoRARank  int
	synthLoRAAlpha float32
	synthLoRAType  string
)

var synthLoRACmd = &cobra.Command{
	Use:   "synth-lora BASE.gguf OUT.gguf",
	Short: "Write a random LoRA adapter for a model, for tests and benchmarks",
	Long: "Write a random LoRA adapter in llama.cpp's GGUF adapter format that fits BASE.gguf: a pair\n" +
		"of rank --rank for each of " + strings.Join(synth.LoRATargets, ", ") + " on every layer.\n" +
		"Use it with `ir run --lora OUT.gguf` or a Modelfile's ADAPTER; its effect is noise.",
	Args: cobra.ExactArgs(2),
	RunE: func(cmd *cobra.Command, args []string) error {
		base, err := gguf.Open(args[0])
		if err != nil {
			return err
		}
		defer base.Close()
		var typ quant.Type
		switch strings.ToUpper(synthLoRAType) {
		case "F32":
			typ = quant.F32
		case "F16":
			typ = quant.F16
		default:
			return fmt.Errorf("--type %q: want F32 or F16", synthLoRAType)
		}
		w, err := synth.LoRA(base, synth.LoRAOptions{Rank: synthLoRARank, Alpha: synthLoRAAlpha, Type: typ, Seed: synthSeed})
		if err != nil {
			return err
		}
		return w.WriteFile(args[1])
	},
}

func init() {
	f := synthLoRACmd.Flags()
	f.IntVar(&synthLoRARank, "rank", 8, "rank of each pair")
	f.Float32Var(&synthLoRAAlpha, "alpha", 0, "adapter.lora.alpha (default 2×rank)")
	f.StringVar(&synthLoRAType, "type", "F32", "tensor type: F32 or F16")
	f.Uint64Var(&synthSeed, "seed", 1, "random seed of the weights")
	rootCmd.AddCommand(synthLoRACmd)
}
