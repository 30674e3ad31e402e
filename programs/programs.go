// Package programs ships the example program files: the deployment's default
// program (b2b-example.yaml) and an advanced example. They are embedded in
// the binary so a fresh deployment has a program to load.
package programs

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// DefaultFile is the name of the deployment's default program file.
const DefaultFile = "b2b-example.yaml"

// Default returns the bytes of the default program (b2b-example.yaml).
func Default() []byte {
	b, err := files.ReadFile(DefaultFile)
	if err != nil {
		panic("programs: default program not embedded: " + err.Error()) // build-time guarantee
	}
	return b
}

// Files returns every embedded program file by name. The map and slices are
// fresh copies: callers may change them.
func Files() map[string][]byte {
	out := map[string][]byte{}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic("programs: " + err.Error()) // the embedded root always reads
	}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic("programs: " + err.Error())
		}
		out[e.Name()] = b
	}
	return out
}
