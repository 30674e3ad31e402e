// Command referflow-local runs the whole Referflow deployment described by
// template.yaml on loopback without Docker: moto for DynamoDB, Step
// Functions and SSM; each function's built bootstrap behind a Lambda
// Runtime API; the HTTP API front. It prints one "READY {json}" line when
// everything is up and runs until SIGINT/SIGTERM. See README.md here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/infra/local/stack"
)

// Stack is what the seed hook gets: endpoints, region, table names and
// state machine ARNs by logical id, and the repo root.
type Stack = stack.Stack

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "referflow-local:", err)
		if errors.Is(err, moto.ErrMissing) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func run() error {
	defPort := 3000
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("PORT=%q: %w", p, err)
		}
		defPort = n
	}
	template := flag.String("template", "", "SAM template (default: template.yaml in the repo root)")
	port := flag.Int("port", defPort, "HTTP API port on 127.0.0.1 (env PORT; 0 = a free port)")
	binDir := flag.String("bin-dir", "", "use prebuilt DIR/<LogicalId>/bootstrap binaries instead of building")
	logDir := flag.String("log-dir", "", "also write each function's log (and moto.log) to this directory")
	quiet := flag.Bool("quiet", false, "do not copy function and moto output to stderr")
	doSeed := flag.Bool("seed", true, "run the seed hook (example programs, demo referrer) before READY")
	flag.Parse()

	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	root, err := build.RepoRoot(wd)
	if err != nil {
		return err
	}
	if *template == "" {
		*template = filepath.Join(root, "template.yaml")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Say what is missing before minutes of building.
	if _, err := moto.Python(ctx); err != nil {
		return err
	}
	cfg := stack.Config{
		Template: *template,
		RepoRoot: root,
		Port:     *port,
		BinDir:   *binDir,
		LogDir:   *logDir,
		Quiet:    *quiet,
	}
	if *doSeed {
		cfg.Seed = seed
	}
	return stack.Run(ctx, cfg)
}
