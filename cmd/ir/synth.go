package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/inference/model/synth"
)

var synthSeed uint64

var synthCmd = &cobra.Command{
	Use:   "synth SHAPE TYPE OUT.gguf",
	Short: "Write a random-weight model of a named shape, for tests and benchmarks",
	Long: "Write a random-weight GGUF model of a named shape (" + strings.Join(synth.ShapeNames(), ", ") + ")\n" +
		"with weights of TYPE (F32, F16, BF16, Q8_0, Q4_0, or the mix " + strings.Join(synth.Mixes, ", ") + ").\n" +
		"The model has a working byte-fallback vocabulary, so `ir run` works on it; its output is gibberish.\n" +
		"A vision projector shape (" + strings.Join(synth.ProjectorShapeNames(), ", ") + ") writes an mmproj file\n" +
		"for `ir image-embed`, its matrices F32 or F16.",
	Args: cobra.ExactArgs(3),
	RunE: func(cmd *cobra.Command, args []string) error {
		if ps, ok := synth.ProjectorShapeByName(args[0]); ok {
			plan, err := synth.NewProjectorPlan(ps, args[1])
			if err != nil {
				return err
			}
			return plan.WriteFile(args[2], synthSeed)
		}
		shape, ok := synth.ShapeByName(args[0])
		if !ok {
			known := append(synth.ShapeNames(), synth.ProjectorShapeNames()...)
			return fmt.Errorf("unknown shape %q (known: %s)", args[0], strings.Join(known, ", "))
		}
		plan, err := synth.NewPlan(shape, args[1])
		if err != nil {
			return err
		}
		return plan.WriteFile(args[2], synthSeed)
	},
}

func init() {
	synthCmd.Flags().Uint64Var(&synthSeed, "seed", 1, "random seed of the weights")
	rootCmd.AddCommand(synthCmd)
}
