package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/modelfile"
	"inferenceruntime/backend/service"
)

var showModelfile, showParameters, showSystem, showTemplate, showLicense bool

var showCmd = &cobra.Command{
	Use:   "show NAME",
	Short: "Show an installed model's recipe: base, adapters, parameters, system prompt",
	Long: `Show what an installed model is made of. With --modelfile, print its Modelfile (what
"ir create" reads: FROM, ADAPTER, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE); a model that
is not a custom one prints just its FROM. --parameters, --system, --template and --license print
one part alone.`,
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		return listWithService(cmd, nil, func(svc *service.Service) error {
			out := cmd.OutOrStdout()
			text, err := svc.Modelfile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if showModelfile {
				fmt.Fprint(out, text)
				return nil
			}
			f, err := modelfile.Parse(text)
			if err != nil {
				return err
			}
			part := func(s *string) string {
				if s == nil {
					return ""
				}
				return *s
			}
			switch {
			case showParameters:
				for _, l := range f.Parameters.Lines() {
					fmt.Fprintln(out, l)
				}
			case showSystem:
				fmt.Fprintln(out, part(f.System))
			case showTemplate:
				fmt.Fprintln(out, part(f.Template))
			case showLicense:
				fmt.Fprintln(out, strings.Join(f.License, "\n\n"))
			default:
				fmt.Fprintf(out, "  from        %s\n", f.From)
				for _, a := range f.Adapters {
					fmt.Fprintf(out, "  adapter     %s (scale %g)\n", a.Path, a.Scale)
				}
				for _, l := range f.Parameters.Lines() {
					fmt.Fprintf(out, "  parameter   %s\n", l)
				}
				if f.System != nil {
					fmt.Fprintf(out, "  system      %s\n", oneLine(*f.System))
				}
				if f.Template != nil {
					fmt.Fprintf(out, "  template    %s\n", oneLine(*f.Template))
				}
				for _, m := range f.Messages {
					fmt.Fprintf(out, "  message     %s: %s\n", m.Role, oneLine(m.Content))
				}
				for _, l := range f.License {
					fmt.Fprintf(out, "  license     %s\n", oneLine(l))
				}
			}
			return nil
		})
	},
}

// oneLine shortens text to a line for the summary.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 72 {
		return string(r[:71]) + "…"
	}
	return s
}

func init() {
	f := showCmd.Flags()
	f.BoolVar(&showModelfile, "modelfile", false, "print the Modelfile")
	f.BoolVar(&showParameters, "parameters", false, "print the parameters")
	f.BoolVar(&showSystem, "system", false, "print the system prompt")
	f.BoolVar(&showTemplate, "template", false, "print the chat template")
	f.BoolVar(&showLicense, "license", false, "print the license")
	rootCmd.AddCommand(showCmd)
}
