package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"inferenceruntime/inference/compute"
)

var backendFlag string

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
		for _, name := range compute.Drivers() {
			devs, err := compute.Devices(name)
			switch {
			case err != nil:
				fmt.Fprintf(w, "%s\t-\t-\tunavailable: %v\n", name, err)
			case len(devs) == 0:
				fmt.Fprintf(w, "%s\t-\t-\tno devices\n", name)
			}
			for _, d := range devs {
				mem := "-"
				if _, total := d.Memory(); total > 0 {
					mem = fmt.Sprintf("%.1f GiB", float64(total)/(1<<30))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, d.Name(), mem, d.Description())
			}
		}
		return w.Flush()
	},
}

func init() {
	rootCmd.PersistentFlags().StringVar(&backendFlag, "backend", "",
		"compute backend: auto, cpu or vulkan (default: $IR_BACKEND, else the settings; auto is the CPU for now)")
	rootCmd.AddCommand(devicesCmd)
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
