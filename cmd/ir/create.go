package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelfile"
	"inferenceruntime/backend/service"
)

var createFile string

var createCmd = &cobra.Command{
	Use:   "create NAME -f Modelfile",
	Short: "Make a custom model from an Ollama Modelfile",
	Long: `Make the model NAME from a Modelfile: a base (FROM an installed model or a .gguf file), LoRA
adapters (ADAPTER FILE[:SCALE]), parameters (PARAMETER temperature 0.7, ...), a system prompt
(SYSTEM), a Jinja chat template (TEMPLATE), example messages (MESSAGE user|assistant|system TEXT)
and a license (LICENSE). The model shares its base's file; files named by FROM and ADAPTER are
copied into the library, relative paths taken from the Modelfile's folder. Making a model of a
name that a custom model has replaces it. "ir show --modelfile NAME" prints the result back.`,
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		path := createFile
		if path == "" {
			path = "Modelfile"
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := modelfile.Parse(string(src))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		createLocalPaths(f, filepath.Dir(path))
		return listWithService(cmd, nil, func(svc *service.Service) error {
			m, err := svc.CreateModel(cmd.Context(), args[0], f, service.CreateOptions{AllowPaths: true})
			if err != nil {
				var inv *service.InvalidError
				if errors.As(err, &inv) && strings.HasPrefix(inv.Field, "Modelfile") {
					return fmt.Errorf("%s: %w", path, err)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (from %s, %s)\n", m.Name, m.Base, strings.TrimPrefix(m.ID, ""))
			return nil
		})
	},
}

// createLocalPaths makes FROM and ADAPTER paths relative to the
// Modelfile's folder absolute, as Ollama reads them. A FROM that is not a
// file there is left alone: it names an installed model.
func createLocalPaths(f *modelfile.File, dir string) {
	local := func(p string) (string, bool) {
		if filepath.IsAbs(p) || strings.HasPrefix(p, "sha256:") {
			return p, false
		}
		abs := filepath.Join(dir, p)
		if _, err := os.Stat(abs); err != nil {
			return p, false
		}
		abs, err := filepath.Abs(abs)
		return abs, err == nil
	}
	if p, ok := local(f.From); ok && library.ValidateName(f.From) != nil || ok && strings.HasSuffix(strings.ToLower(f.From), ".gguf") {
		f.From = p
	}
	for i, a := range f.Adapters {
		if p, ok := local(a.Path); ok {
			f.Adapters[i].Path = p
		}
	}
}

func init() {
	createCmd.Flags().StringVarP(&createFile, "file", "f", "", "the Modelfile (default: ./Modelfile)")
	rootCmd.AddCommand(createCmd)
}
