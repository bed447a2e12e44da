package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/inference/gguf"
)

var (
	importInPlace bool
	importName    string
	importMmproj  string
)

var importCmd = &cobra.Command{
	Use:   "import FILE.gguf",
	Short: "Add a GGUF model file to the library (copied into the store, or used in place)",
	Long: `Import validates the file with the GGUF reader, then copies it into the
content-addressed store while hashing it (or, with --in-place, records it
where it lies). A file the library already holds is not copied twice.

A vision projector ("mmproj" file) is paired with the model: the one named
by --mmproj, else a *mmproj*.gguf of the model's embedding size in the
model's folder. Such a model takes images (ir run --image, the API, the app).`,
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		bar := events.NewBar(cmd.ErrOrStderr())
		progress := &cliProgress{bar: bar, holdDone: true}
		svc, err := listService(cmd, progress)
		if err != nil {
			return err
		}
		defer svc.Close()
		res, err := svc.ImportModel(cmd.Context(), args[0], library.ImportOptions{InPlace: importInPlace, Name: importName, Projector: importMmproj})
		if err == nil && res.Existing {
			// Only hashing the whole file could tell; the bar of that read
			// is no import.
			bar.Discard()
			m := res.Model
			fmt.Fprintf(cmd.OutOrStdout(), "%s is already in the library as %s (%s); nothing imported\n",
				events.Printable(args[0]), events.Printable(m.Name), m.ID[:8])
			return nil
		}
		progress.release()
		bar.Finish()
		if err != nil {
			return err
		}
		m := res.Model
		how := "copied into the store"
		if m.Location == library.InPlace {
			how = "used in place"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "imported %s (%s): %s %s, %s, %s params; %s\n", m.Name, m.ID[:8],
			events.Printable(m.Meta.Architecture), events.Printable(m.Meta.FileType), events.FormatBytes(m.Size), gguf.FormatCount(m.Meta.ParamCount), how)
		if m.Projector != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "vision: paired with projector %s\n", events.Printable(m.Projector))
		}
		return nil
	},
}

func init() {
	importCmd.Flags().BoolVar(&importInPlace, "in-place", false, "use the file where it lies instead of copying it")
	importCmd.Flags().StringVar(&importName, "name", "", "name for the model (default: from the file name)")
	importCmd.Flags().StringVar(&importMmproj, "mmproj", "", "vision projector (mmproj GGUF) to pair with the model (default: one found next to it)")
	rootCmd.AddCommand(importCmd)
}
