package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference"
)

var backendFlag, gpuLayersFlag string

var devicesCmd = &cobra.Command{
	Use:   "devices",
	Short: "List the compute devices of every backend, and why a backend has none",
	Long: "List the compute devices of every backend (the CPU, Vulkan GPUs) with their memory and features.\n" +
		"A backend without devices says why, e.g. that no Vulkan loader or driver is installed; models then\n" +
		"run on the CPU. Choose a backend with --backend or $IR_BACKEND.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 8, 2, ' ', 0)
		fmt.Fprintln(w, "BACKEND\tDEVICE\tMEMORY\tDESCRIPTION")
		for _, d := range service.Devices() {
			if d.Name == "" {
				fmt.Fprintf(w, "%s\t-\t-\t%s\n", d.Backend, d.Error)
				continue
			}
			mem := "-"
			if d.MemoryTotal > 0 {
				mem = fmt.Sprintf("%.1f GiB", float64(d.MemoryTotal)/(1<<30))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Backend, d.Name, mem, d.Description)
		}
		return w.Flush()
	},
}

func init() {
	rootCmd.PersistentFlags().StringVar(&backendFlag, "backend", "",
		"compute backend: auto (a GPU when there is one and the model fits, else the CPU), cpu or vulkan (default: $IR_BACKEND, else the settings)")
	rootCmd.PersistentFlags().StringVar(&gpuLayersFlag, "gpu-layers", "auto",
		"layers on the GPU, the rest on the CPU: auto (as many as its free memory takes), all, or a number (0: none)")
	rootCmd.AddCommand(devicesCmd)
}

// chooseGPULayers reads --gpu-layers for service.RunnerOptions.
func chooseGPULayers() (int, error) { return service.ParseGPULayers(gpuLayersFlag) }

// loadOptions are the inference options of a model file loaded without the
// service's runner (ir logits, ir bench): placed like the runner places
// models, and said on stderr when it is not the CPU alone.
func loadOptions(cmd *cobra.Command, path string, ctx int) (inference.Options, error) {
	layers, err := chooseGPULayers()
	if err != nil {
		return inference.Options{}, err
	}
	p, err := service.PlaceFile(path, ctx, chooseBackend(""), layers)
	if err != nil {
		return inference.Options{}, err
	}
	if p.Options.Backend != "cpu" {
		fmt.Fprintln(cmd.ErrOrStderr(), "device:", p.Note)
	}
	return p.Options, nil
}

// chooseBackend returns the backend for inference.Options: --backend, else
// $IR_BACKEND, else fallback (the settings' choice). "auto" and "" leave the
// choice to the engine, which runs on the CPU. An unknown name is passed on:
// loading the model then fails saying which backends there are.
func chooseBackend(fallback string) string {
	b := backendFlag
	if b == "" {
		b = os.Getenv("IR_BACKEND")
	}
	if b == "" {
		b = fallback
	}
	if b == "auto" {
		return ""
	}
	return b
}
