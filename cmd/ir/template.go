package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/inference/chattmpl"
)

var templateNow string

var templateCmd = &cobra.Command{
	Use:   "template",
	Short: "Work with chat templates",
}

var templateRenderCmd = &cobra.Command{
	Use:   "render TEMPLATE.jinja CASE.json",
	Short: "Render a chat template with the variables of a JSON case file",
	Long: `Render a Jinja chat template with the variables of a JSON object
(messages, add_generation_prompt, bos_token, eos_token, tools, ...) and print
the result exactly, without an added newline. A template error exits non-zero.`,
	Args: cobra.ExactArgs(2),
	RunE: func(cmd *cobra.Command, args []string) error {
		src, err := os.ReadFile(args[0])
		if err != nil {
			return fmt.Errorf("read template: %w", err)
		}
		data, err := os.ReadFile(args[1])
		if err != nil {
			return fmt.Errorf("read case: %w", err)
		}
		vars, err := chattmpl.VarsFromJSON(data)
		if err != nil {
			return fmt.Errorf("case %s: %w", args[1], err)
		}
		opts := chattmpl.Options{}
		if templateNow != "" {
			t, err := time.Parse(time.RFC3339, templateNow)
			if err != nil {
				return fmt.Errorf("--now: %w", err)
			}
			opts.Now = func() time.Time { return t }
		}
		out, err := chattmpl.RenderString(string(src), vars, opts)
		if err != nil {
			return err
		}
		_, err = os.Stdout.WriteString(out)
		return err
	},
}

func init() {
	templateRenderCmd.Flags().StringVar(&templateNow, "now", "", "fixed time for strftime_now (RFC 3339, e.g. 2026-11-26T00:00:00Z)")
	templateCmd.AddCommand(templateRenderCmd)
	rootCmd.AddCommand(templateCmd)
}
